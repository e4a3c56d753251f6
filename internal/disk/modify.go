package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/depotfs/depot/internal/fileid"
)

// writablePath returns the store path of id for an in-place change.
func (s *Store) writablePath(op string, id fileid.ID) (*storePath, error) {
	p, ok := s.pathOf(id.StorePath())
	if !ok || !id.Valid() {
		return nil, fmt.Errorf("disk: %s %s: store path %d: %w", op, id, id.StorePath(), ErrNotFound)
	}
	if p.readOnly {
		return nil, fmt.Errorf("disk: %s %s: %s: %w", op, id, p.dir, ErrReadOnly)
	}
	return p, nil
}

// openAppender opens an appender file for writing under its stripe lock; the caller calls
// the returned release.
func (s *Store) openAppender(op string, id fileid.ID) (*os.File, int64, func(), error) {
	if id.Kind() != fileid.Appender {
		return nil, 0, nil, fmt.Errorf("disk: %s %s: %w", op, id, ErrNotAppender)
	}
	p, err := s.writablePath(op, id)
	if err != nil {
		return nil, 0, nil, err
	}
	mu := s.lockFor(id.Name())
	mu.Lock()
	f, err := os.OpenFile(p.data+id.RelPath(), os.O_WRONLY, 0)
	if err != nil {
		mu.Unlock()
		return nil, 0, nil, fmt.Errorf("disk: %s %s: %w", op, id, osErr(err))
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file: %w", ErrNotFound)
	}
	if err != nil {
		f.Close()
		mu.Unlock()
		return nil, 0, nil, fmt.Errorf("disk: %s %s: %w", op, id, err)
	}
	return f, st.Size(), func() { f.Close(); mu.Unlock() }, nil
}

// Append appends r (size bytes, or -1 unknown) to an appender file. On error the file is
// truncated back to its old size.
func (s *Store) Append(ctx context.Context, id fileid.ID, r io.Reader, size int64) error {
	if size < -1 {
		return fmt.Errorf("disk: append %s: size %d: %w", id, size, ErrInvalid)
	}
	f, old, release, err := s.openAppender("append", id)
	if err != nil {
		return err
	}
	defer release()
	return s.writeAt(ctx, "append", id, f, old, old, r, size)
}

// Modify overwrites an appender file at offset with r (offset <= current size). The write may
// run past the end and grow the file. On error a grown file is cut back to its old size;
// bytes already overwritten stay overwritten (as in FastDFS).
func (s *Store) Modify(ctx context.Context, id fileid.ID, offset int64, r io.Reader, size int64) error {
	if size < -1 || offset < 0 {
		return fmt.Errorf("disk: modify %s: offset %d size %d: %w", id, offset, size, ErrInvalid)
	}
	f, old, release, err := s.openAppender("modify", id)
	if err != nil {
		return err
	}
	defer release()
	if offset > old {
		return fmt.Errorf("disk: modify %s: offset %d past size %d: %w", id, offset, old, ErrInvalid)
	}
	return s.writeAt(ctx, "modify", id, f, old, offset, r, size)
}

// writeAt streams r into f at off, fsyncs, and on failure truncates f back to old.
func (s *Store) writeAt(ctx context.Context, op string, id fileid.ID, f *os.File, old, off int64, r io.Reader, size int64) error {
	_, _, err := s.copyIn(ctx, f, off, r, size)
	if err == nil {
		err = osErr(f.Sync())
	}
	if err != nil {
		if terr := f.Truncate(old); terr != nil {
			s.log.Error("cannot restore size after failed write", "id", id.String(), "size", old, "err", terr)
		} else if serr := f.Sync(); serr != nil {
			s.log.Error("cannot fsync after restoring size", "id", id.String(), "err", serr)
		}
		return fmt.Errorf("disk: %s %s: %w", op, id, err)
	}
	return nil
}

// Truncate sets an appender file's size (only shrinking or 0..current size).
func (s *Store) Truncate(id fileid.ID, size int64) error {
	f, old, release, err := s.openAppender("truncate", id)
	if err != nil {
		return err
	}
	defer release()
	if size < 0 || size > old {
		return fmt.Errorf("disk: truncate %s: to %d, size is %d: %w", id, size, old, ErrInvalid)
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("disk: truncate %s: %w", id, osErr(err))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("disk: truncate %s: %w", id, osErr(err))
	}
	return nil
}

// Delete removes a file and its metadata. A trunk slice is marked free.
func (s *Store) Delete(id fileid.ID) error {
	p, err := s.writablePath("delete", id)
	if err != nil {
		return err
	}
	mu := s.lockFor(id.Name())
	mu.Lock()
	defer mu.Unlock()
	if slot, ok := id.Trunk(); ok {
		if err := s.freeTrunkSlot(p, id, slot); err != nil {
			return err
		}
	} else {
		if isMetaFile(p, id) {
			return fmt.Errorf("disk: delete %s: a metadata file: %w", id, ErrNotFound)
		}
		path := p.data + id.RelPath()
		st, err := os.Lstat(path)
		if err == nil && st.IsDir() {
			err = fmt.Errorf("is a directory: %w", os.ErrNotExist)
		}
		if err == nil {
			err = os.Remove(path)
		}
		if err != nil {
			return fmt.Errorf("disk: delete %s: %w", id, osErr(err))
		}
	}
	metaPath := p.data + id.RelPath() + metaSuffix
	if err := os.Remove(metaPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cannot remove metadata of deleted file", "id", id.String(), "err", err)
	}
	dir := p.data + id.RelPath()[:6]
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("disk: delete %s: %w", id, osErr(err))
	}
	return nil
}
