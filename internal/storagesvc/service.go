package storagesvc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/trunk"
	"github.com/depotfs/depot/proto/storagepb"
)

// ChunkSize is the size of the data chunks the service sends and the buffers it pools.
const ChunkSize = 256 << 10

// Options configure a Service.
type Options struct {
	// Group is the group this node serves; file IDs naming another group are refused.
	Group  string
	Logger *slog.Logger // nil discards
	// TokenTTL is how long an upload token is remembered (0: DefaultTokenTTL).
	TokenTTL time.Duration
	// TokenFile keeps upload tokens across restarts ("" = in memory only).
	TokenFile string
	// Journal, when set, records every successful change before the answer (replication).
	Journal Journal
	// Trunk, when set, stores small normal uploads in trunk slots (use_trunk_file) and is
	// told about deleted trunk files.
	Trunk Trunk
}

// Trunk puts small uploads into trunk files (package trunk's Node).
type Trunk interface {
	// Upload stores the file in a trunk slot and returns its ID, or returns a reader with
	// the whole upload when it goes to a normal file.
	Upload(ctx context.Context, req trunk.UploadRequest) (fileid.ID, io.Reader, error)
	// Freed gives the slot of a deleted trunk file back to the trunk server.
	Freed(ctx context.Context, id fileid.ID) error
}

// Service implements storagepb.StorageServiceServer over a disk.Store.
// Its methods are safe for concurrent use.
type Service struct {
	storagepb.UnimplementedStorageServiceServer

	store *disk.Store
	group string
	log   *slog.Logger
	bufs  sync.Pool // *[]byte of ChunkSize

	tokens  *uploadTokens
	jr      Journal
	trunk   Trunk
	uploads uploadCounters
}

var _ storagepb.StorageServiceServer = (*Service)(nil)

// New returns a service for store. The caller keeps ownership of store.
func New(store *disk.Store, o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, group: o.Group, log: log, tokens: newUploadTokens(o.TokenTTL), jr: o.Journal, trunk: o.Trunk}
	s.bufs.New = func() any { b := make([]byte, ChunkSize); return &b }
	s.tokens.log = log.Warn
	if o.TokenFile != "" {
		if err := s.tokens.persist(o.TokenFile); err != nil {
			log.Warn("upload tokens kept in memory only", "err", err)
		}
	}
	return s
}

// Register registers the service on srv.
func (s *Service) Register(srv *grpc.Server) {
	storagepb.RegisterStorageServiceServer(srv, s)
}

// parseID parses a full file ID and checks that it names this node's group.
func (s *Service) parseID(raw string) (fileid.ID, error) {
	id, err := fileid.Parse(raw)
	if err != nil {
		return fileid.ID{}, fmt.Errorf("file id %q: %w", raw, err)
	}
	if id.Group() != s.group {
		return fileid.ID{}, fmt.Errorf("file id %q: %w: this node serves group %q", raw, ErrWrongGroup, s.group)
	}
	return id, nil
}

// Truncate sets an appender file's size.
func (s *Service) Truncate(_ context.Context, req *storagepb.TruncateRequest) (*storagepb.TruncateResponse, error) {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("truncate: %w", err))
	}
	if req.GetSize() < 0 {
		return nil, toStatus(fmt.Errorf("truncate %s to %d: %w: negative size", id, req.GetSize(), ErrBadRequest))
	}
	var old int64
	if info, err := s.store.Stat(id); err == nil {
		old = info.Size
	}
	if err := s.store.Truncate(id, req.GetSize()); err != nil {
		return nil, toStatus(fmt.Errorf("truncate %s to %d: %w", id, req.GetSize(), err))
	}
	if err := s.journal(Change{Op: 'T', ID: id, A: old, B: req.GetSize()}); err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.TruncateResponse{}, nil
}

// Delete removes a file and its metadata.
func (s *Service) Delete(ctx context.Context, req *storagepb.DeleteRequest) (*storagepb.DeleteResponse, error) {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("delete: %w", err))
	}
	if err := s.store.Delete(id); err != nil {
		return nil, toStatus(fmt.Errorf("delete %s: %w", id, err))
	}
	s.freed(ctx, id)
	if err := s.journal(Change{Op: 'D', ID: id}); err != nil {
		return nil, toStatus(err)
	}
	s.log.Debug("deleted", "file_id", id.String())
	return &storagepb.DeleteResponse{}, nil
}

// GetMetadata returns a file's metadata.
func (s *Service) GetMetadata(_ context.Context, req *storagepb.GetMetadataRequest) (*storagepb.GetMetadataResponse, error) {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("get metadata: %w", err))
	}
	m, err := s.store.Meta(id)
	if err != nil {
		return nil, toStatus(fmt.Errorf("get metadata of %s: %w", id, err))
	}
	return &storagepb.GetMetadataResponse{Metadata: m}, nil
}

// SetMetadata replaces or merges a file's metadata.
func (s *Service) SetMetadata(_ context.Context, req *storagepb.SetMetadataRequest) (*storagepb.SetMetadataResponse, error) {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("set metadata: %w", err))
	}
	if err := s.store.SetMeta(id, req.GetMetadata(), req.GetMerge()); err != nil {
		return nil, toStatus(fmt.Errorf("set metadata of %s: %w", id, err))
	}
	if err := s.journal(Change{Op: 'U', ID: id, Meta: true}); err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.SetMetadataResponse{}, nil
}

// FileInfo describes a stored file: the fields decoded from its ID plus what the store
// reports (size, modification time).
func (s *Service) FileInfo(_ context.Context, req *storagepb.FileInfoRequest) (*storagepb.FileInfoResponse, error) {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("file info: %w", err))
	}
	info, err := s.store.Stat(id)
	if err != nil {
		return nil, toStatus(fmt.Errorf("file info of %s: %w", id, err))
	}
	resp := &storagepb.FileInfoResponse{
		Size:       info.Size,
		CreateTime: id.CreatedUnix(),
		ModTime:    info.ModTime.Unix(),
		Crc32:      info.CRC32,
		SourceIp:   id.SourceIPv4().String(),
		Kind:       kindToPB(id.Kind()),
	}
	if id.Kind() == fileid.Normal || id.Kind() == fileid.Trunk {
		resp.Crc32 = id.CRC32()
	}
	if sid, ok := id.ServerID(); ok {
		resp.SourceId = sid
	}
	if slot, ok := id.Trunk(); ok {
		resp.Trunk = &storagepb.TrunkSlot{TrunkFile: slot.File, Offset: slot.Offset, Size: slot.Size}
	}
	return resp, nil
}

func kindToPB(k fileid.Kind) storagepb.FileKind {
	switch k {
	case fileid.Normal:
		return storagepb.FileKind_FILE_KIND_NORMAL
	case fileid.Trunk:
		return storagepb.FileKind_FILE_KIND_TRUNK
	case fileid.Appender:
		return storagepb.FileKind_FILE_KIND_APPENDER
	case fileid.Slave:
		return storagepb.FileKind_FILE_KIND_SLAVE
	}
	return storagepb.FileKind_FILE_KIND_UNSPECIFIED
}

// getBuf and putBuf manage the pooled chunk buffers.
func (s *Service) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Service) putBuf(b *[]byte) { s.bufs.Put(b) }

// freed tells the trunk server that the trunk file id was deleted here (a failure only
// leaks the slot until the next rebuild of the trunk server's free space).
func (s *Service) freed(ctx context.Context, id fileid.ID) {
	if s.trunk == nil || id.Kind() != fileid.Trunk {
		return
	}
	if err := s.trunk.Freed(ctx, id); err != nil {
		s.log.Warn("trunk slot of a deleted file not given back", "file_id", id.String(), "err", err)
	}
}

// remove deletes a file this call stored and must not keep.
func (s *Service) remove(ctx context.Context, id fileid.ID) error {
	if err := s.store.Delete(id); err != nil {
		return err
	}
	s.freed(context.WithoutCancel(ctx), id)
	return nil
}
