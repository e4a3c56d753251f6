package disk

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/depotfs/depot/internal/fileid"
)

// Info describes a stored file.
type Info struct {
	Size    int64
	ModTime time.Time // name's create time for normal/trunk files, stat mtime for slave/appender
	CRC32   uint32    // from the name for normal/trunk files; computed for slave/appender
}

// File is an open stored file: its bytes are F[Offset : Offset+Size].
// The caller owns F and must close it; F is never shared, so its file position is the
// caller's (sendfile moves it).
type File struct {
	F       *os.File
	Offset  int64 // 0 for normal files, slot offset + 24 for trunk slices
	Size    int64
	ModTime time.Time
}

// Open opens the file named by id for reading; a trunk slice's header is checked against
// the name (FastDFS's rule) and a mismatch is ErrNotFound. A trunk link slot is followed once.
// The file position is 0: the caller seeks to Offset.
func (s *Store) Open(id fileid.ID) (File, error) {
	return s.open(id, true)
}

func (s *Store) open(id fileid.ID, followLink bool) (File, error) {
	p, ok := s.pathOf(id.StorePath())
	if !ok || !id.Valid() {
		return File{}, fmt.Errorf("disk: open %s: store path %d: %w", id, id.StorePath(), ErrNotFound)
	}
	if slot, ok := id.Trunk(); ok {
		return s.openTrunk(p, id, slot, followLink)
	}
	if isMetaFile(p, id) {
		return File{}, fmt.Errorf("disk: open %s: a metadata file: %w", id, ErrNotFound)
	}
	nameZ := p.data + id.RelPath() + "\x00"
	name := nameZ[:len(nameZ)-1]
	fd, err := openRead(nameZ)
	if err != nil {
		return File{}, openErr(id, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return File{}, openErr(id, &os.PathError{Op: "fstat", Path: name, Err: err})
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return File{}, fmt.Errorf("disk: open %s: not a regular file: %w", id, ErrNotFound)
	}
	f := os.NewFile(uintptr(fd), name)
	mt := id.Created()
	if id.Kind() != fileid.Normal {
		mt = time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	}
	return File{F: f, Size: st.Size, ModTime: mt}, nil
}

// openTrunk opens the trunk file of id and checks the slot header.
func (s *Store) openTrunk(p *storePath, id fileid.ID, slot fileid.TrunkSlot, followLink bool) (File, error) {
	nameZ := trunkPath(p, id, slot) + "\x00"
	name := nameZ[:len(nameZ)-1]
	fd, err := openRead(nameZ)
	if err != nil {
		return File{}, openErr(id, err)
	}
	f := os.NewFile(uintptr(fd), name)
	typ, err := readTrunkHeader(f, id, slot)
	if err != nil {
		f.Close()
		return File{}, fmt.Errorf("disk: open %s: %w: %w", id, ErrNotFound, err)
	}
	size, _ := id.Size()
	if err := slotInFile(f, id, slot, size); err != nil {
		f.Close()
		return File{}, err
	}
	if typ == trunkLink {
		defer f.Close()
		return s.followLink(f, id, slot, size, followLink)
	}
	return File{F: f, Offset: int64(slot.Offset) + trunkHeaderSize, Size: size, ModTime: id.Created()}, nil
}

// followLink opens the target named by the content of a link slot (one level only).
func (s *Store) followLink(f *os.File, id fileid.ID, slot fileid.TrunkSlot, size int64, follow bool) (File, error) {
	if !follow || size <= 0 || size > maxLinkTarget {
		return File{}, fmt.Errorf("disk: open %s: link slot not followed: %w", id, ErrNotFound)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, int64(slot.Offset)+trunkHeaderSize); err != nil {
		return File{}, fmt.Errorf("disk: open %s: read link: %w: %w", id, ErrNotFound, err)
	}
	target, err := fileid.ParseRemote(id.Group(), string(buf))
	if err != nil {
		if target, err = fileid.Parse(string(buf)); err != nil {
			return File{}, fmt.Errorf("disk: open %s: link target %q: %w: %w", id, buf, ErrNotFound, err)
		}
	}
	return s.open(target, false)
}

// openRead opens name read-only with close-on-exec. It bypasses os.Open, which tries to
// register every file with the network poller (two fcntl and an epoll_ctl that fails for
// regular files); os.NewFile on the result costs one fcntl and leaves the descriptor blocking,
// which is what a regular file is anyway. nameZ is name followed by a NUL byte, so that the
// path reaches the kernel without another copy.
func openRead(nameZ string) (int, error) {
	p := unsafe.Pointer(unsafe.StringData(nameZ))
	dirfd := atFDCWD
	for {
		fd, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(p),
			uintptr(syscall.O_RDONLY|syscall.O_CLOEXEC), 0, 0, 0)
		runtime.KeepAlive(nameZ)
		switch errno {
		case 0:
			return int(fd), nil
		case syscall.EINTR:
			continue
		}
		return -1, &os.PathError{Op: "open", Path: nameZ[:len(nameZ)-1], Err: errno}
	}
}

// atFDCWD is AT_FDCWD: openat relative to the working directory (paths here are absolute).
const atFDCWD = -100

// openErr wraps an error of opening id: missing files (and paths through non-directories)
// are ErrNotFound.
func openErr(id fileid.ID, err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, syscall.EISDIR) {
		return fmt.Errorf("disk: open %s: %w: %w", id, ErrNotFound, err)
	}
	return fmt.Errorf("disk: open %s: %w", id, err)
}

// Stat returns a file's info without computing anything expensive (CRC32 of slave/appender is 0).
func (s *Store) Stat(id fileid.ID) (Info, error) {
	p, ok := s.pathOf(id.StorePath())
	if !ok || !id.Valid() {
		return Info{}, fmt.Errorf("disk: stat %s: store path %d: %w", id, id.StorePath(), ErrNotFound)
	}
	if _, ok := id.Trunk(); ok {
		f, err := s.Open(id)
		if err != nil {
			return Info{}, err
		}
		f.F.Close()
		return Info{Size: f.Size, ModTime: f.ModTime, CRC32: id.CRC32()}, nil
	}
	if isMetaFile(p, id) {
		return Info{}, fmt.Errorf("disk: stat %s: a metadata file: %w", id, ErrNotFound)
	}
	st, err := os.Stat(p.data + id.RelPath())
	if err != nil {
		return Info{}, openErr(id, err)
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("disk: stat %s: not a regular file: %w", id, ErrNotFound)
	}
	if id.Kind() == fileid.Normal {
		return Info{Size: st.Size(), ModTime: id.Created(), CRC32: id.CRC32()}, nil
	}
	return Info{Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Checksum computes the crc32 (IEEE) of a file's bytes by reading it: what Stat leaves at 0
// for slave and appender files.
func (s *Store) Checksum(id fileid.ID) (uint32, error) {
	f, err := s.Open(id)
	if err != nil {
		return 0, err
	}
	defer f.F.Close()
	bp := s.bufs.Get().(*[bufSize]byte)
	defer s.bufs.Put(bp)
	h := crc32.NewIEEE()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f.F, f.Offset, f.Size), bp[:]); err != nil {
		return 0, fmt.Errorf("disk: checksum %s: %w", id, err)
	}
	return h.Sum32(), nil
}

// isMetaFile reports whether a slave ID names the metadata file of another file: its name is
// "<name>-m" and <name> exists. Slave names are the only ones long enough for that; the check
// costs a stat only for names ending in "-m".
func isMetaFile(p *storePath, id fileid.ID) bool {
	rel := id.RelPath()
	if id.Kind() != fileid.Slave || !strings.HasSuffix(rel, metaSuffix) {
		return false
	}
	_, err := os.Lstat(p.data + rel[:len(rel)-len(metaSuffix)])
	return err == nil
}

// metaTaken reports whether the metadata name of a new file at path ("<path>-m") is already
// taken by a file: a slave named like that, or a leftover. A new file there would read and
// overwrite that file as its metadata, and deleting it would delete that file too.
func metaTaken(path string) bool {
	_, err := os.Lstat(path + metaSuffix)
	return err == nil
}

// slotInFile checks that the slot of id, as far as its file size reaches, lies within the trunk
// file f: a header may claim more bytes than the file holds (a truncated or crafted trunk
// file), and no header may go out for bytes that are not there.
func slotInFile(f *os.File, id fileid.ID, slot fileid.TrunkSlot, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("disk: open %s: stat trunk file: %w", id, osErr(err))
	}
	return slotEndCheck(id, slot, size, st.Size())
}

// slotEndCheck is slotInFile for a trunk file of fileSize bytes.
func slotEndCheck(id fileid.ID, slot fileid.TrunkSlot, size, fileSize int64) error {
	if end := int64(slot.Offset) + trunkHeaderSize + size; end > fileSize {
		return fmt.Errorf("disk: open %s: slot at %d ends at byte %d, past the trunk file's %d: %w", id, slot.Offset, end, fileSize, ErrNotFound)
	}
	return nil
}
