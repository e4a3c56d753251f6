package storagesvc

import (
	"errors"
	"fmt"
	"io"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/trunk"
	"github.com/depotfs/depot/proto/storagepb"
)

// chunkReader is an io.Reader over the data chunks of a client stream. next returns the
// next chunk, io.EOF at the clean end of the stream, or the stream's error (a client that
// went away), which Read passes on so the store drops its partial file.
type chunkReader struct {
	next func() ([]byte, error)
	buf  []byte
	err  error
	n    int64 // bytes read
}

var _ io.Reader = (*chunkReader)(nil)

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.buf, r.err = r.next()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.n += int64(n)
	return n, nil
}

// expectEOF checks that the client sent nothing beyond what the store consumed.
func (r *chunkReader) expectEOF() error {
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	if n > 0 {
		return fmt.Errorf("%w: more data than announced", disk.ErrTooLarge)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// headerErr turns a stream that ended before its header into ErrProtocol.
func headerErr(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: stream ended before the header", ErrProtocol)
	}
	return err
}

// chunkOf extracts a data chunk from a client message; a second header is a protocol error.
func chunkOf(data []byte, isChunk bool) ([]byte, error) {
	if !isChunk {
		return nil, fmt.Errorf("%w: header after the first message", ErrProtocol)
	}
	return data, nil
}

// Upload stores a new normal, appender or slave file.
// It is counted (Uploads) as stored or failed; a retry answered with the file its upload
// token already made is neither.
func (s *Service) Upload(stream storagepb.StorageService_UploadServer) (err error) {
	stored := int64(-1) // bytes of the file this call stored
	defer func() { s.uploads.count(stored, err) }()
	first, err := stream.Recv()
	if err != nil {
		return toStatus(fmt.Errorf("upload: reading header: %w", headerErr(err)))
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus(fmt.Errorf("upload: %w: first message is not a header", ErrProtocol))
	}
	r := &chunkReader{next: func() ([]byte, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		_, ok := m.GetMsg().(*storagepb.UploadRequest_Chunk)
		return chunkOf(m.GetChunk(), ok)
	}}
	var finish func(string)
	var beforeCommit func(fileid.ID) error
	if tok := h.GetUploadToken(); len(tok) > 0 {
		known, fin, err := s.tokens.claim(stream.Context(), tok)
		if err == nil && known.id != "" && !s.exists(known.id) {
			// Named in the token file by a process that died before storing the file.
			s.tokens.forget(tok)
			known, fin, err = s.tokens.claim(stream.Context(), tok)
		}
		if err != nil {
			return toStatus(fmt.Errorf("upload: %w", err))
		}
		if known.id != "" {
			s.log.Debug("upload retried with a known token", "file_id", known.id)
			if known.loaded {
				// The process that stored it may have died before journaling it; a second
				// record of the same creation is harmless.
				if id, perr := fileid.Parse(known.id); perr == nil {
					if err := s.journal(Change{Op: 'C', ID: id}); err != nil {
						return toStatus(err)
					}
				}
			}
			return stream.SendAndClose(&storagepb.UploadResponse{FileId: known.id})
		}
		finish = fin
		beforeCommit = func(id fileid.ID) error {
			if id.Group() == "" {
				id = id.WithGroup(s.group)
			}
			return s.tokens.promise(tok, id.String())
		}
	}
	id, err := s.upload(stream, h, r, beforeCommit)
	if err == nil && stream.Context().Err() != nil {
		// The client cancelled after its last message: it sees the upload fail, so the
		// file must not stay (nor be journaled and replicated).
		if derr := s.remove(stream.Context(), id); derr != nil {
			s.log.Warn("upload cancelled and the file could not be removed", "file_id", id.String(), "err", derr)
		}
		err = fmt.Errorf("upload %s: %w", id, stream.Context().Err())
	}
	if err == nil {
		err = s.journal(Change{Op: 'C', ID: id})
	}
	if finish != nil {
		if err != nil {
			finish("")
		} else {
			finish(id.String())
		}
	}
	if err != nil {
		return toStatus(err)
	}
	s.log.Debug("uploaded", "file_id", id.String())
	stored = r.n
	return stream.SendAndClose(&storagepb.UploadResponse{FileId: id.String()})
}

// upload writes the file, checks the stream ended, and stores the metadata; on any failure
// after the file was written it deletes the file.
func (s *Service) upload(stream storagepb.StorageService_UploadServer, h *storagepb.UploadHeader, r *chunkReader, beforeCommit func(fileid.ID) error) (fileid.ID, error) {
	ctx := stream.Context()
	if h.GetSize() < -1 {
		return fileid.ID{}, fmt.Errorf("upload: %w: size %d", ErrBadRequest, h.GetSize())
	}
	var id fileid.ID
	var err error
	switch h.GetKind() {
	case storagepb.FileKind_FILE_KIND_UNSPECIFIED, storagepb.FileKind_FILE_KIND_NORMAL, storagepb.FileKind_FILE_KIND_APPENDER:
		var in io.Reader = r
		if s.trunk != nil && h.GetKind() != storagepb.FileKind_FILE_KIND_APPENDER {
			id, in, err = s.trunk.Upload(ctx, trunk.UploadRequest{
				R: r, Size: h.GetSize(), Ext: h.GetExt(), PathIndex: int(h.GetStorePathIndex()), BeforeCommit: beforeCommit,
			})
			if err != nil {
				return fileid.ID{}, fmt.Errorf("upload (ext %q): %w", h.GetExt(), err)
			}
		}
		if in == nil {
			break
		}
		id, err = s.store.Upload(ctx, in, disk.UploadOptions{
			Ext:       h.GetExt(),
			PathIndex: int(h.GetStorePathIndex()),
			Appender:  h.GetKind() == storagepb.FileKind_FILE_KIND_APPENDER,
			Size:      h.GetSize(),

			BeforeCommit: beforeCommit,
		})
		if err != nil {
			return fileid.ID{}, fmt.Errorf("upload (ext %q): %w", h.GetExt(), err)
		}
	case storagepb.FileKind_FILE_KIND_SLAVE:
		master, perr := s.parseID(h.GetMasterFileId())
		if perr != nil {
			return fileid.ID{}, fmt.Errorf("upload slave: master: %w", perr)
		}
		id, err = s.store.UploadSlave(ctx, master, h.GetPrefix(), h.GetExt(), r, h.GetSize())
		if err != nil {
			return fileid.ID{}, fmt.Errorf("upload slave of %s (prefix %q, ext %q): %w", master, h.GetPrefix(), h.GetExt(), err)
		}
	default:
		return fileid.ID{}, fmt.Errorf("upload: %w: kind %v", ErrBadRequest, h.GetKind())
	}
	if id.Group() == "" {
		id = id.WithGroup(s.group)
	}
	err = r.expectEOF()
	if err == nil && len(h.GetMetadata()) > 0 {
		err = s.store.SetMeta(id, h.GetMetadata(), false)
	}
	if err != nil {
		if derr := s.remove(ctx, id); derr != nil {
			s.log.Warn("upload failed and the file could not be removed", "file_id", id.String(), "err", derr)
		}
		return fileid.ID{}, fmt.Errorf("upload %s: %w", id, err)
	}
	return id, nil
}

// Append adds the streamed data to the end of an appender file.
func (s *Service) Append(stream storagepb.StorageService_AppendServer) error {
	first, err := stream.Recv()
	if err != nil {
		return toStatus(fmt.Errorf("append: reading header: %w", headerErr(err)))
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus(fmt.Errorf("append: %w: first message is not a header", ErrProtocol))
	}
	id, err := s.parseID(h.GetFileId())
	if err != nil {
		return toStatus(fmt.Errorf("append: %w", err))
	}
	if h.GetSize() < -1 {
		return toStatus(fmt.Errorf("append to %s: %w: size %d", id, ErrBadRequest, h.GetSize()))
	}
	r := &chunkReader{next: func() ([]byte, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		_, ok := m.GetMsg().(*storagepb.AppendRequest_Chunk)
		return chunkOf(m.GetChunk(), ok)
	}}
	cr := &countingReader{r: r}
	if err := s.store.Append(stream.Context(), id, cr, h.GetSize()); err != nil {
		return toStatus(fmt.Errorf("append to %s: %w", id, err))
	}
	if err := r.expectEOF(); err != nil {
		return toStatus(fmt.Errorf("append to %s: %w", id, err))
	}
	if info, err := s.store.Stat(id); err == nil {
		if err := s.journal(Change{Op: 'A', ID: id, A: info.Size - cr.n, B: cr.n}); err != nil {
			return toStatus(err)
		}
	}
	return stream.SendAndClose(&storagepb.AppendResponse{})
}

// Modify overwrites an appender file from an offset with the streamed data.
func (s *Service) Modify(stream storagepb.StorageService_ModifyServer) error {
	first, err := stream.Recv()
	if err != nil {
		return toStatus(fmt.Errorf("modify: reading header: %w", headerErr(err)))
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus(fmt.Errorf("modify: %w: first message is not a header", ErrProtocol))
	}
	id, err := s.parseID(h.GetFileId())
	if err != nil {
		return toStatus(fmt.Errorf("modify: %w", err))
	}
	if h.GetSize() < -1 || h.GetOffset() < 0 {
		return toStatus(fmt.Errorf("modify %s: %w: offset %d size %d", id, ErrBadRequest, h.GetOffset(), h.GetSize()))
	}
	r := &chunkReader{next: func() ([]byte, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		_, ok := m.GetMsg().(*storagepb.ModifyRequest_Chunk)
		return chunkOf(m.GetChunk(), ok)
	}}
	cr := &countingReader{r: r}
	if err := s.store.Modify(stream.Context(), id, h.GetOffset(), cr, h.GetSize()); err != nil {
		return toStatus(fmt.Errorf("modify %s at %d: %w", id, h.GetOffset(), err))
	}
	if err := r.expectEOF(); err != nil {
		return toStatus(fmt.Errorf("modify %s at %d: %w", id, h.GetOffset(), err))
	}
	if err := s.journal(Change{Op: 'M', ID: id, A: h.GetOffset(), B: cr.n}); err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&storagepb.ModifyResponse{})
}
