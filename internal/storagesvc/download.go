package storagesvc

import (
	"fmt"
	"io"

	"github.com/depotfs/depot/proto/storagepb"
)

// Download streams a file or the range [offset, offset+length) of it in ChunkSize chunks.
// A length of 0 means up to the end; a range that does not fit in the file is ErrRange.
func (s *Service) Download(req *storagepb.DownloadRequest, stream storagepb.StorageService_DownloadServer) error {
	id, err := s.parseID(req.GetFileId())
	if err != nil {
		return toStatus(fmt.Errorf("download: %w", err))
	}
	off, length := req.GetOffset(), req.GetLength()
	if off < 0 || length < 0 {
		return toStatus(fmt.Errorf("download %s: %w: offset %d length %d", id, ErrRange, off, length))
	}
	f, err := s.store.Open(id)
	if err != nil {
		return toStatus(fmt.Errorf("download %s: %w", id, err))
	}
	defer f.F.Close()
	if off > f.Size || length > f.Size-off {
		return toStatus(fmt.Errorf("download %s: %w: offset %d length %d, file size %d", id, ErrRange, off, length, f.Size))
	}
	if length == 0 {
		length = f.Size - off
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	buf := *bp
	pos, end := f.Offset+off, f.Offset+off+length
	for pos < end {
		if err := stream.Context().Err(); err != nil {
			return toStatus(fmt.Errorf("download %s: %w", id, err))
		}
		n := int(min(int64(len(buf)), end-pos))
		k, err := f.F.ReadAt(buf[:n], pos)
		if k < n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return toStatus(fmt.Errorf("download %s: reading at %d: %w", id, pos-f.Offset, err))
		}
		if err := stream.Send(&storagepb.Chunk{Data: buf[:n]}); err != nil {
			return toStatus(fmt.Errorf("download %s: sending: %w", id, err))
		}
		pos += int64(n)
	}
	return nil
}
