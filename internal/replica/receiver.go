package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/replicapb"
)

// PeerProgress is what a peer reported about its binlog as applied here.
type PeerProgress struct {
	Peer            string
	SyncedTS        int64
	LagFiles        int64
	LagBytes        int64
	InitialCopyDone bool
}

// Receiver applies other storages' changes to the local store. Safe for concurrent use.
type Receiver struct {
	replicapb.UnimplementedReplicaServiceServer
	store *disk.Store
	group string
	bl    *binlog.Writer
	log   *slog.Logger

	mu       sync.Mutex
	tombs    map[string]int64 // remote filename → timestamp of the delete applied here
	progress map[string]PeerProgress
}

// NewReceiver returns a receiver writing into store and recording applied changes in bl.
// It loads the deletes of bl's directory as tombstones.
func NewReceiver(store *disk.Store, group string, bl *binlog.Writer, log *slog.Logger) (*Receiver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{store: store, group: group, bl: bl, log: log, tombs: map[string]int64{}, progress: map[string]PeerProgress{}}
	rd := binlog.NewReader(bl.Dir(), binlog.Position{}, log)
	defer rd.Close()
	for {
		rec, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Op.Upper() == binlog.Delete {
			r.tombs[rec.Name] = max(r.tombs[rec.Name], rec.TS)
		}
	}
}

// Reports returns every peer's last reported progress, by peer key.
func (r *Receiver) Reports() []PeerProgress {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]PeerProgress, 0, len(r.progress))
	for _, k := range slices.Sorted(maps.Keys(r.progress)) {
		out = append(out, r.progress[k])
	}
	return out
}

// Progress records a sender's report.
func (r *Receiver) Progress(_ context.Context, req *replicapb.ProgressRequest) (*replicapb.ProgressResponse, error) {
	if req.GetSenderKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "progress without sender_key")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.progress[req.GetSenderKey()]
	r.progress[req.GetSenderKey()] = PeerProgress{
		Peer: req.GetSenderKey(), SyncedTS: max(old.SyncedTS, req.GetSyncedTs()), LagFiles: req.GetLagFiles(),
		LagBytes: req.GetLagBytes(), InitialCopyDone: old.InitialCopyDone || req.GetInitialCopyDone(),
	}
	return &replicapb.ProgressResponse{}, nil
}

// Check tells whether the file is here with that size and crc32.
func (r *Receiver) Check(_ context.Context, req *replicapb.CheckRequest) (*replicapb.CheckResponse, error) {
	id, err := r.parseID(req.GetFileId())
	if err != nil {
		return nil, err
	}
	ok, err := r.store.HasReplica(id, req.GetSize(), req.GetCrc32())
	if err != nil {
		return nil, toStatus(fmt.Errorf("check %s: %w", id, err))
	}
	return &replicapb.CheckResponse{Present: ok}, nil
}

func (r *Receiver) parseID(s string) (fileid.ID, error) {
	id, err := fileid.Parse(s)
	if err != nil {
		return fileid.ID{}, status.Errorf(codes.InvalidArgument, "file id %q: %v", s, err)
	}
	if id.Group() != r.group {
		return fileid.ID{}, status.Errorf(codes.InvalidArgument, "file id %q: group is not %q", s, r.group)
	}
	return id, nil
}

// deletedAfter reports whether a delete of name newer than ts was applied here.
func (r *Receiver) deletedAfter(name string, ts int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.tombs[name]
	return ok && d > ts
}

func (r *Receiver) tomb(name string, ts int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tombs[name] = max(r.tombs[name], ts)
}

// toStatus maps store errors to gRPC codes: NotFound, ResourceExhausted (no space),
// FailedPrecondition (read-only), InvalidArgument (bad input, corrupt copy), else Internal.
func toStatus(err error) error {
	c := codes.Internal
	switch {
	case errors.Is(err, context.Canceled):
		c = codes.Canceled
	case errors.Is(err, disk.ErrNotFound):
		c = codes.NotFound
	case errors.Is(err, disk.ErrNoSpace):
		c = codes.ResourceExhausted
	case errors.Is(err, disk.ErrSlotBusy):
		c = codes.Aborted // retried: the delete that frees the slot is on its way
	case errors.Is(err, disk.ErrReadOnly):
		c = codes.FailedPrecondition
	case errors.Is(err, disk.ErrTruncated), errors.Is(err, disk.ErrTooLarge):
		c = codes.DataLoss
	case errors.Is(err, disk.ErrInvalid), errors.Is(err, disk.ErrExists), errors.Is(err, disk.ErrNotAppender):
		c = codes.InvalidArgument
	}
	return status.Error(c, err.Error())
}
