package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/depotfs/depot/internal/fileid"
)

// ReplicaOptions describe a file copied from another storage of the group.
type ReplicaOptions struct {
	Size  int64  // exact size of the content
	CRC32 uint32 // crc32 (IEEE) of the content; a normal file's ID must carry the same
	// Replace lets different existing content be replaced (whole-file updates of appender
	// files); without it such a file is left alone and ErrExists returned.
	Replace bool
}

// HasReplica reports whether id is stored here with exactly size bytes and that crc32
// (computed for slave and appender files).
func (s *Store) HasReplica(id fileid.ID, size int64, crc uint32) (bool, error) {
	info, err := s.Stat(id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.Size != size {
		return false, nil
	}
	if id.Kind() == fileid.Normal {
		return id.CRC32() == crc, nil
	}
	got, err := s.Checksum(id)
	if err != nil {
		return false, err
	}
	return got == crc, nil
}

// PutReplica writes r (o.Size bytes) as the file named id, which another storage of the
// group created. The content goes to a scratch file first; its size and crc32 are checked
// (against o and, for normal files, against the ID) before it is renamed into place, so a
// reader never sees a partial or corrupt replica. A file already there with the same size
// and crc32 is left as is (idempotent). A trunk file is written into its slot (the trunk file
// is created when missing).
func (s *Store) PutReplica(ctx context.Context, id fileid.ID, r io.Reader, o ReplicaOptions) error {
	if _, ok := id.Trunk(); ok {
		return s.putTrunkReplica(id, r, o)
	}
	if o.Size < 0 {
		return fmt.Errorf("disk: replica %s: size %d: %w", id, o.Size, ErrInvalid)
	}
	if id.Kind() == fileid.Normal {
		if n, ok := id.Size(); ok && n != o.Size || id.CRC32() != o.CRC32 {
			return fmt.Errorf("disk: replica %s: size %d crc32 %08x disagree with the ID: %w", id, o.Size, o.CRC32, ErrInvalid)
		}
	}
	p, err := s.writablePath("replica", id)
	if err != nil {
		return err
	}
	if ok, err := s.HasReplica(id, o.Size, o.CRC32); err != nil || ok {
		return err
	}
	tmp, n, crc, _, err := s.writeTemp(ctx, p, r, o.Size)
	if err != nil {
		return fmt.Errorf("disk: replica %s: %w", id, err)
	}
	if n != o.Size || crc != o.CRC32 {
		os.Remove(tmp)
		return fmt.Errorf("disk: replica %s: received %d bytes with crc32 %08x, want %d bytes %08x: %w",
			id, n, crc, o.Size, o.CRC32, ErrTruncated)
	}
	final := p.data + id.RelPath()
	dir := final[:len(final)-len(id.Name())]
	mu := s.lockFor(id.Name())
	mu.Lock()
	defer mu.Unlock()
	if err := ensureDir(dir); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("disk: replica %s: %w", id, osErr(err))
	}
	err = renameNoReplace(tmp, final)
	if errors.Is(err, os.ErrExist) {
		if ok, herr := s.HasReplica(id, o.Size, o.CRC32); herr == nil && ok {
			os.Remove(tmp)
			return nil
		}
		if !o.Replace {
			os.Remove(tmp)
			return fmt.Errorf("disk: replica %s: other content exists: %w", id, ErrExists)
		}
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("disk: replica %s: %w", id, osErr(err))
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("disk: replica %s: %w", id, osErr(err))
	}
	return nil
}

// ensureDir creates data/XX/YY when a peer with more sub-directories sends a file into one
// this store never made, and fsyncs the parents it created so the new entries survive a crash.
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	xx := filepath.Dir(dir)
	if err := syncDir(xx); err != nil {
		return err
	}
	return syncDir(filepath.Dir(xx))
}
