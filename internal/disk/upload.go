package disk

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/depotfs/depot/internal/fileid"
	"golang.org/x/sys/unix"
)

// maxNameTries is how many names an upload tries when the generated one exists (FastDFS: 10).
const maxNameTries = 10

// UploadOptions describe a new file.
type UploadOptions struct {
	Ext       string // extension without dot, 0..6 chars
	PathIndex int    // store path index, or -1 to let the store choose
	Appender  bool
	// Size is the announced size, or -1 when unknown. A stream that ends early gives
	// ErrTruncated, one that runs past it ErrTooLarge; nothing is left on disk either way.
	// With a known size the store reads one byte past it to see the end, so r must end
	// (io.LimitReader over a connection).
	Size int64
	// BeforeCommit, when set, is called with the file's ID after the data is durable in
	// the scratch file and before the file gets its name; an error aborts the upload and
	// leaves nothing. (The storage service records upload tokens here.)
	BeforeCommit func(id fileid.ID) error
}

// Upload writes r to a new file and returns its ID only once the file is durable
// (temp file, crc32 while writing, fsync, rename, fsync of the directory).
func (s *Store) Upload(ctx context.Context, r io.Reader, o UploadOptions) (fileid.ID, error) {
	if err := checkExt(o.Ext); err != nil {
		return fileid.ID{}, err
	}
	if o.Size < -1 {
		return fileid.ID{}, fmt.Errorf("disk: upload size %d: %w", o.Size, ErrInvalid)
	}
	p, err := s.choosePath(o.PathIndex, o.Size)
	if err != nil {
		return fileid.ID{}, err
	}
	var d1, d2 uint8
	if s.o.DistributeMode == 1 {
		d1, d2 = fileid.DistributeHash(s.randomName27(), s.o.SubdirCount)
	} else {
		d1, d2 = s.dist.next()
	}
	tmp, n, crc, mtime, err := s.writeTemp(ctx, p, r, o.Size)
	if err != nil {
		return fileid.ID{}, fmt.Errorf("disk: upload to %s: %w", p.dir, err)
	}
	dir := p.data + subdirName(int(d1)) + "/" + subdirName(int(d2)) + "/"
	params := fileid.NewParams{
		Group: s.o.Group, Path: p.index, Dir1: d1, Dir2: d2, Source: s.o.Source,
		Created: mtime, Size: n, CRC32: crc, Ext: o.Ext, Appender: o.Appender, Rand: s.rand,
	}
	for range maxNameTries {
		id, err := fileid.New(params)
		if err != nil {
			os.Remove(tmp)
			return fileid.ID{}, fmt.Errorf("disk: upload to %s: %w: %w", p.dir, ErrInvalid, err)
		}
		if o.BeforeCommit != nil {
			if err := o.BeforeCommit(id); err != nil {
				os.Remove(tmp)
				return fileid.ID{}, fmt.Errorf("disk: upload %s: %w", id, err)
			}
		}
		if metaTaken(dir + id.Name()) {
			s.log.Warn("generated file name's metadata name is another file; regenerating", "id", id.String())
			continue
		}
		err = renameNoReplace(tmp, dir+id.Name())
		if err == nil {
			if err := syncDir(dir); err != nil {
				os.Remove(dir + id.Name())
				return fileid.ID{}, fmt.Errorf("disk: upload %s: %w", id, osErr(err))
			}
			return id, nil
		}
		if !errors.Is(err, os.ErrExist) {
			os.Remove(tmp)
			return fileid.ID{}, fmt.Errorf("disk: upload to %s: %w", dir, osErr(err))
		}
		s.log.Warn("generated file name exists; regenerating", "id", id.String())
	}
	os.Remove(tmp)
	return fileid.ID{}, fmt.Errorf("disk: upload to %s: %d generated names exist: %w", dir, maxNameTries, ErrExists)
}

// UploadSlave writes a slave file of master (which must exist) with prefix and ext.
// It is stored as a regular file (store_slave_file_use_link = false).
func (s *Store) UploadSlave(ctx context.Context, master fileid.ID, prefix, ext string, r io.Reader, size int64) (fileid.ID, error) {
	if size < -1 {
		return fileid.ID{}, fmt.Errorf("disk: slave size %d: %w", size, ErrInvalid)
	}
	id, err := fileid.SlaveOf(master, prefix, ext)
	if err != nil {
		return fileid.ID{}, fmt.Errorf("disk: slave of %s: %w: %w", master, ErrInvalid, err)
	}
	if _, err := s.Stat(master); err != nil {
		return fileid.ID{}, fmt.Errorf("disk: master of slave: %w", err)
	}
	p, _ := s.pathOf(master.StorePath())
	if p.readOnly {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %s: %w", id, p.dir, ErrReadOnly)
	}
	final := p.data + id.RelPath()
	if isMetaFile(p, id) {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: name of a metadata file: %w", id, ErrInvalid)
	}
	if metaTaken(final) {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: its metadata name %s%s is another file: %w", id, id.Name(), metaSuffix, ErrExists)
	}
	if _, err := os.Lstat(final); err == nil {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %w", id, ErrExists)
	}
	if ok, err := s.hasRoom(p, size); err != nil {
		return fileid.ID{}, err
	} else if !ok {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %s: within reserved_storage_space: %w", id, p.dir, ErrNoSpace)
	}
	tmp, _, _, _, err := s.writeTemp(ctx, p, r, size)
	if err != nil {
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %w", id, err)
	}
	if err := renameNoReplace(tmp, final); err != nil {
		os.Remove(tmp)
		if errors.Is(err, os.ErrExist) {
			return fileid.ID{}, fmt.Errorf("disk: slave %s: %w", id, ErrExists)
		}
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %w", id, osErr(err))
	}
	dir := final[:len(final)-len(id.Name())]
	if err := syncDir(dir); err != nil {
		os.Remove(final)
		return fileid.ID{}, fmt.Errorf("disk: slave %s: %w", id, osErr(err))
	}
	return id, nil
}

// writeTemp streams r into a new durable scratch file of p and returns its name, size, crc32
// and mtime (Unix seconds). On error nothing is left behind.
func (s *Store) writeTemp(ctx context.Context, p *storePath, r io.Reader, size int64) (string, int64, uint32, int64, error) {
	f, tmp, err := createTemp(p)
	if err != nil {
		return "", 0, 0, 0, err
	}
	n, crc, err := s.copyIn(ctx, f, 0, r, size)
	if err == nil {
		err = osErr(f.Sync())
	}
	var mtime int64
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			mtime = st.ModTime().Unix()
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = osErr(cerr)
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, 0, 0, err
	}
	return tmp, n, crc, mtime, nil
}

// copyIn writes r to f from off with pwrite through a pooled buffer, checking ctx between
// chunks and the announced size (-1: unknown). It returns the bytes written and their crc32.
func (s *Store) copyIn(ctx context.Context, f *os.File, off int64, r io.Reader, size int64) (int64, uint32, error) {
	bp := s.bufs.Get().(*[bufSize]byte)
	defer s.bufs.Put(bp)
	var n int64
	var crc uint32
	for {
		if err := ctx.Err(); err != nil {
			return n, crc, err
		}
		buf := bp[:]
		if size >= 0 && size-n < int64(len(buf)) {
			buf = buf[:size-n+1] // one byte more than announced shows an overrun
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if size >= 0 && n+int64(m) > size {
				return n, crc, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, size)
			}
			if _, err := f.WriteAt(buf[:m], off+n); err != nil {
				return n, crc, osErr(err)
			}
			crc = crc32.Update(crc, crc32.IEEETable, buf[:m])
			n += int64(m)
		}
		switch {
		case rerr == io.EOF:
			if size >= 0 && n < size {
				return n, crc, fmt.Errorf("%w: %d of %d bytes", ErrTruncated, n, size)
			}
			return n, crc, nil
		case errors.Is(rerr, io.ErrUnexpectedEOF):
			return n, crc, fmt.Errorf("%w: after %d bytes: %w", ErrTruncated, n, rerr)
		case rerr != nil:
			return n, crc, rerr
		}
	}
}

// renameNoReplace renames oldpath to newpath, failing with an error matching os.ErrExist when
// newpath exists. File systems without RENAME_NOREPLACE get link + unlink.
func renameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if err == nil {
		return nil
	}
	if err != unix.EINVAL && err != unix.ENOSYS && err != unix.EOPNOTSUPP {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	if err := os.Link(oldpath, newpath); err != nil {
		return err
	}
	return os.Remove(oldpath)
}

// randomName27 is a random 27-char base64 name part, hashed by file_distribute_path_mode = 1
// (FastDFS hashes the temporary name of the upload, not the final one).
func (s *Store) randomName27() string {
	var b [20]byte
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(b[i:], s.rand())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkExt validates an extension: 0..6 chars of [A-Za-z0-9_.-].
func checkExt(ext string) error {
	if len(ext) > fileid.MaxExtLen {
		return fmt.Errorf("disk: extension %q longer than %d: %w", ext, fileid.MaxExtLen, ErrInvalid)
	}
	for i := 0; i < len(ext); i++ {
		c := ext[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("disk: extension %q: bad character: %w", ext, ErrInvalid)
		}
	}
	return nil
}
