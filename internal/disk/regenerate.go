package disk

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/depotfs/depot/internal/fileid"
)

// Regenerate gives an appender file the name of a normal file (FastDFS's regenerate
// appender filename): same store path and directories, a name made from the file's size,
// crc32 and modification time, its metadata moved along. The old name is gone afterwards.
func (s *Store) Regenerate(id fileid.ID) (fileid.ID, error) {
	if id.Kind() != fileid.Appender {
		return fileid.ID{}, fmt.Errorf("disk: regenerate %s: %w", id, ErrNotAppender)
	}
	p, err := s.writablePath("regenerate", id)
	if err != nil {
		return fileid.ID{}, err
	}
	mu := s.lockFor(id.Name())
	mu.Lock()
	defer mu.Unlock()
	old := p.data + id.RelPath()
	f, err := os.Open(old)
	if err != nil {
		return fileid.ID{}, openErr(id, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file: %w", ErrNotFound)
	}
	h := crc32.NewIEEE()
	if err == nil {
		_, err = io.Copy(h, f)
	}
	f.Close()
	if err != nil {
		return fileid.ID{}, fmt.Errorf("disk: regenerate %s: %w", id, osErr(err))
	}
	d1, d2 := id.Dirs()
	dir := old[:len(old)-len(id.Name())]
	params := fileid.NewParams{
		Group: id.Group(), Path: id.StorePath(), Dir1: d1, Dir2: d2, Source: s.o.Source,
		Created: st.ModTime().Unix(), Size: st.Size(), CRC32: h.Sum32(), Ext: id.Ext(), Rand: s.rand,
	}
	for range maxNameTries {
		nid, err := fileid.New(params)
		if err != nil {
			return fileid.ID{}, fmt.Errorf("disk: regenerate %s: %w: %w", id, ErrInvalid, err)
		}
		if metaTaken(dir + nid.Name()) {
			continue
		}
		err = renameNoReplace(old, dir+nid.Name())
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fileid.ID{}, fmt.Errorf("disk: regenerate %s: %w", id, osErr(err))
		}
		if err := os.Rename(old+metaSuffix, dir+nid.Name()+metaSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("metadata of a regenerated appender file not moved", "id", id.String(), "new", nid.String(), "err", err)
		}
		if err := syncDir(dir); err != nil {
			return fileid.ID{}, fmt.Errorf("disk: regenerate %s as %s: %w", id, nid, osErr(err))
		}
		return nid, nil
	}
	return fileid.ID{}, fmt.Errorf("disk: regenerate %s: %d generated names exist: %w", id, maxNameTries, ErrExists)
}
