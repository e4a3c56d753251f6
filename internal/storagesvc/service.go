package storagesvc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
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
	uploads uploadCounters
}

var _ storagepb.StorageServiceServer = (*Service)(nil)

// New returns a service for store. The caller keeps ownership of store.
func New(store *disk.Store, o Options) *Service {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{store: store, group: o.Group, log: log, tokens: newUploadTokens(o.TokenTTL), jr: o.Journal}
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
	if err := s.truncateFile(req.GetFileId(), req.GetSize()); err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.TruncateResponse{}, nil
}

func (s *Service) truncateFile(fileID string, size int64) error {
	id, err := s.parseID(fileID)
	if err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	if size < 0 {
		return fmt.Errorf("truncate %s to %d: %w: negative size", id, size, ErrBadRequest)
	}
	var old int64
	if info, err := s.store.Stat(id); err == nil {
		old = info.Size
	}
	if err := s.store.Truncate(id, size); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", id, size, err)
	}
	return s.journal(Change{Op: 'T', ID: id, A: old, B: size})
}

// Delete removes a file and its metadata.
func (s *Service) Delete(_ context.Context, req *storagepb.DeleteRequest) (*storagepb.DeleteResponse, error) {
	if err := s.deleteFile(req.GetFileId()); err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.DeleteResponse{}, nil
}

func (s *Service) deleteFile(fileID string) error {
	id, err := s.parseID(fileID)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := s.store.Delete(id); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err := s.journal(Change{Op: 'D', ID: id}); err != nil {
		return err
	}
	s.log.Debug("deleted", "file_id", id.String())
	return nil
}

// GetMetadata returns a file's metadata.
func (s *Service) GetMetadata(_ context.Context, req *storagepb.GetMetadataRequest) (*storagepb.GetMetadataResponse, error) {
	m, err := s.getMeta(req.GetFileId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.GetMetadataResponse{Metadata: m}, nil
}

func (s *Service) getMeta(fileID string) (map[string]string, error) {
	id, err := s.parseID(fileID)
	if err != nil {
		return nil, fmt.Errorf("get metadata: %w", err)
	}
	m, err := s.store.Meta(id)
	if err != nil {
		return nil, fmt.Errorf("get metadata of %s: %w", id, err)
	}
	return m, nil
}

// SetMetadata replaces or merges a file's metadata.
func (s *Service) SetMetadata(_ context.Context, req *storagepb.SetMetadataRequest) (*storagepb.SetMetadataResponse, error) {
	if err := s.setMeta(req.GetFileId(), req.GetMetadata(), req.GetMerge()); err != nil {
		return nil, toStatus(err)
	}
	return &storagepb.SetMetadataResponse{}, nil
}

func (s *Service) setMeta(fileID string, m map[string]string, merge bool) error {
	id, err := s.parseID(fileID)
	if err != nil {
		return fmt.Errorf("set metadata: %w", err)
	}
	if err := s.store.SetMeta(id, m, merge); err != nil {
		return fmt.Errorf("set metadata of %s: %w", id, err)
	}
	return s.journal(Change{Op: 'U', ID: id, Meta: true})
}

// FileInfo describes a stored file: the fields decoded from its ID plus what the store
// reports (size, modification time).
func (s *Service) FileInfo(_ context.Context, req *storagepb.FileInfoRequest) (*storagepb.FileInfoResponse, error) {
	resp, err := s.fileInfo(req.GetFileId())
	return resp, toStatus(err)
}

func (s *Service) fileInfo(fileID string) (*storagepb.FileInfoResponse, error) {
	id, err := s.parseID(fileID)
	if err != nil {
		return nil, fmt.Errorf("file info: %w", err)
	}
	info, err := s.store.Stat(id)
	if err != nil {
		return nil, fmt.Errorf("file info of %s: %w", id, err)
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

// regenerate renames an appender file to a normal file's name and journals it.
func (s *Service) regenerate(fileID string) (string, error) {
	id, err := s.parseID(fileID)
	if err != nil {
		return "", fmt.Errorf("regenerate: %w", err)
	}
	nid, err := s.store.Regenerate(id)
	if err != nil {
		return "", fmt.Errorf("regenerate %s: %w", id, err)
	}
	if nid.Group() == "" {
		nid = nid.WithGroup(s.group)
	}
	if err := s.journal(Change{Op: 'R', ID: nid, Old: id}); err != nil {
		return "", err
	}
	return nid.String(), nil
}
