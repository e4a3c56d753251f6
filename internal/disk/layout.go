package disk

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// tmpDirName is Depot's scratch directory inside data/. It is not two hex digits, so no file
// ID names anything in it.
const tmpDirName = ".depot-tmp"

// tmpPrefix starts every scratch file name.
const tmpPrefix = ".depot-tmp-"

const hexDigits = "0123456789ABCDEF"

// subdirName formats a sub-directory index as FastDFS does (%02X).
func subdirName(i int) string {
	return string([]byte{hexDigits[i>>4&0xF], hexDigits[i&0xF]})
}

// openPath prepares one store path: a read-only one is only checked; a writable one gets its
// missing directories and an empty scratch directory. A writable path on a file system that
// refuses writes is opened read-only.
func (s *Store) openPath(i int, pc PathConfig) (storePath, error) {
	dir := filepath.Clean(pc.Dir)
	p := storePath{
		index:    i,
		dir:      dir,
		data:     dir + "/data/",
		tmp:      dir + "/data/" + tmpDirName + "/",
		readOnly: pc.ReadOnly,
	}
	if p.readOnly {
		st, err := os.Stat(dir)
		if err != nil {
			return p, fmt.Errorf("disk: store_path%d %s: %w", i, dir, err)
		}
		if !st.IsDir() {
			return p, fmt.Errorf("disk: store_path%d %s is not a directory: %w", i, dir, ErrInvalid)
		}
		return p, nil
	}
	err := s.prepareWritable(&p)
	if err == nil {
		return p, nil
	}
	if errors.Is(err, ErrReadOnly) {
		s.log.Warn("store path refuses writes; serving it read-only", "dir", dir, "err", err)
		p.readOnly, p.refused = true, true
		if _, serr := os.Stat(dir); serr != nil {
			return p, fmt.Errorf("disk: store_path%d %s: %w", i, dir, serr)
		}
		return p, nil
	}
	return p, fmt.Errorf("disk: store_path%d %s: %w", i, dir, err)
}

// prepareWritable creates the fan-out and the scratch directory, empties the scratch
// directory and proves the path takes writes.
func (s *Store) prepareWritable(p *storePath) error {
	if err := os.MkdirAll(p.dir+"/data", 0o755); err != nil {
		return osErr(err)
	}
	if err := s.makeSubdirs(p); err != nil {
		return err
	}
	if err := os.Mkdir(p.tmp, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return osErr(err)
	}
	if err := s.cleanTmp(p); err != nil {
		return err
	}
	// Probe: a file system mounted read-only lets every directory above exist already.
	return probeWrite(p)
}

// probeWrite creates and removes a scratch file in p's scratch directory.
func probeWrite(p *storePath) error {
	f, name, err := createTemp(p)
	if err != nil {
		return err
	}
	f.Close()
	return osErr(os.Remove(name))
}

// makeSubdirs creates data/XX/YY. The directories are created in order, so when the last one
// exists the whole fan-out does (the fast path on every start after the first).
func (s *Store) makeSubdirs(p *storePath) error {
	n := s.o.SubdirCount
	last := p.data + subdirName(n-1) + "/" + subdirName(n-1)
	if st, err := os.Stat(last); err == nil && st.IsDir() {
		return nil
	}
	s.log.Info("creating data sub-directories", "dir", p.dir, "count", n*n)
	for i := range n {
		d1 := p.data + subdirName(i)
		if err := mkdirOnce(d1); err != nil {
			return err
		}
		for j := range n {
			if err := mkdirOnce(d1 + "/" + subdirName(j)); err != nil {
				return err
			}
		}
	}
	return nil
}

func mkdirOnce(dir string) error {
	err := syscall.Mkdir(dir, 0o755)
	if err == nil || err == syscall.EEXIST {
		return nil
	}
	return osErr(&os.PathError{Op: "mkdir", Path: dir, Err: err})
}

// cleanTmp removes what a crash left in the scratch directory.
func (s *Store) cleanTmp(p *storePath) error {
	entries, err := os.ReadDir(p.tmp)
	if err != nil {
		return osErr(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(p.tmp + e.Name()); err != nil {
			return osErr(err)
		}
		s.log.Info("removed leftover temp file", "dir", p.tmp, "name", e.Name())
	}
	return nil
}

// createTemp creates a new empty scratch file in p, never reusing a name.
func createTemp(p *storePath) (*os.File, string, error) {
	for range 100 {
		name := p.tmp + tmpPrefix + strconv.FormatUint(rand.Uint64(), 36)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", osErr(err)
		}
	}
	return nil, "", fmt.Errorf("disk: no free temp name in %s: %w", p.tmp, ErrExists)
}

// syncDir fsyncs a directory so that a rename or unlink in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
