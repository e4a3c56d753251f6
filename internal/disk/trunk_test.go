package disk

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// writeSlot writes a slot holding content into a trunk file and returns its ID.
func writeSlot(t *testing.T, trunk string, typ byte, off, alloc uint32, content []byte) fileid.ID {
	t.Helper()
	slot := fileid.TrunkSlot{File: 7, Offset: off, Size: alloc}
	id, err := fileid.New(fileid.NewParams{Group: "group1", Created: 1795426361, Size: int64(len(content)),
		CRC32: crc32.ChecksumIEEE(content), Ext: "bin", Trunk: &slot})
	if err != nil {
		t.Fatal(err)
	}
	h := wantTrunkHeader(id, slot)
	h.Type = typ
	b := make([]byte, trunkHeaderSize+len(content))
	h.Encode(b)
	copy(b[trunkHeaderSize:], content)
	f, err := os.OpenFile(trunk, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTrunkLinkSlot(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 1})
	trunk := filepath.Join(dir, "data", "00", "00", "000007")
	target := writeSlot(t, trunk, trunkRegular, 0, 256, []byte("hello"))
	link := writeSlot(t, trunk, trunkLink, 256, 256, []byte(target.Remote()))
	linkToLink := writeSlot(t, trunk, trunkLink, 512, 256, []byte(link.Remote()))
	garbage := writeSlot(t, trunk, trunkLink, 768, 256, []byte("not a file id"))
	unknown := writeSlot(t, trunk, 'X', 1024, 256, []byte("x"))
	tooBig := writeSlot(t, trunk, trunkRegular, 1280, 256, bytes.Repeat([]byte("y"), 240))

	for _, id := range []fileid.ID{target, link} {
		got, f := readAll(t, s, id)
		if string(got) != "hello" || f.Offset != 24 {
			t.Errorf("Open(%s) = %q at %d", id, got, f.Offset)
		}
	}
	for name, id := range map[string]fileid.ID{"link to link": linkToLink, "garbage link": garbage, "unknown type": unknown, "slot overflow": tooBig} {
		if _, err := s.Open(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: Open = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.Delete(target); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(link); !errors.Is(err, ErrNotFound) {
		t.Errorf("link to freed slot: Open = %v, want ErrNotFound", err)
	}
	if err := s.Delete(unknown); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete of a bad slot = %v, want ErrNotFound", err)
	}
	b, err := os.ReadFile(trunk)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != trunkFree || b[1024] != 'X' || !bytes.Equal(b[1:5], []byte{0, 0, 1, 0}) {
		t.Errorf("trunk bytes after delete: % x / % x", b[:5], b[1024])
	}
}

func TestOsErr(t *testing.T) {
	cases := []struct {
		in   error
		want error
	}{
		{&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, ErrNoSpace},
		{syscall.EDQUOT, ErrNoSpace},
		{syscall.EROFS, ErrReadOnly},
		{&os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, ErrReadOnly},
		{os.ErrNotExist, ErrNotFound},
		{syscall.ENOTDIR, ErrNotFound},
	}
	for _, tc := range cases {
		if err := osErr(tc.in); !errors.Is(err, tc.want) || !errors.Is(err, tc.in) {
			t.Errorf("osErr(%v) = %v, want %v wrapping the cause", tc.in, err, tc.want)
		}
	}
	if err := osErr(syscall.EIO); err != syscall.EIO {
		t.Errorf("osErr(EIO) = %v", err)
	}
}

// endless yields n bytes of a pattern without holding them.
type endless struct{ n, off int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.off >= e.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > e.n-e.off {
		k = e.n - e.off
	}
	for i := range p[:k] {
		p[i] = byte(e.off + int64(i))
	}
	e.off += k
	return int(k), nil
}

// TestUploadStreams: a large upload allocates far less than its size.
func TestUploadStreams(t *testing.T) {
	const size = 64 << 20
	s := openStore(t, Options{})
	// Warm the buffer pool so the measurement sees steady state.
	if _, err := s.Upload(t.Context(), bytes.NewReader([]byte("x")), UploadOptions{PathIndex: -1, Size: 1}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	id, err := s.Upload(t.Context(), &endless{n: size}, UploadOptions{PathIndex: -1, Size: size})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("a %d-byte upload allocated %d bytes", size, alloc)
	}
	info, err := s.Stat(id)
	if err != nil || info.Size != size {
		t.Errorf("Stat = %+v, %v", info, err)
	}
}

// TestTrunkSlotPastFileEnd: a slot whose header (and name) claims more bytes than the trunk
// file holds is not found, through Store.Open and the file cache, so no response header goes
// out for bytes that are not there.
func TestTrunkSlotPastFileEnd(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 1})
	trunk := filepath.Join(dir, "data", "00", "00", "000007")
	whole := writeSlot(t, trunk, trunkRegular, 0, 256, []byte("hello"))
	cut := writeSlot(t, trunk, trunkRegular, 256, 1<<20, bytes.Repeat([]byte("z"), 1<<19))
	if err := os.Truncate(trunk, 256+trunkHeaderSize+100); err != nil {
		t.Fatal(err)
	}
	c := NewFileCache(s, time.Hour, 0)
	defer c.Close()
	if _, err := s.Open(cut); !errors.Is(err, ErrNotFound) {
		t.Errorf("Store.Open of a slot past the trunk file's end = %v, want ErrNotFound", err)
	}
	for range 2 { // the second time from the cached descriptor
		if _, h, err := c.Open(cut); !errors.Is(err, ErrNotFound) {
			h.Release()
			t.Errorf("FileCache.Open of a slot past the trunk file's end = %v, want ErrNotFound", err)
		}
		f, h, err := c.Open(whole)
		if err != nil || f.Size != 5 {
			t.Errorf("FileCache.Open of the whole slot = %+v, %v", f, err)
		}
		h.Release()
	}
	if got, _ := readAll(t, s, whole); string(got) != "hello" {
		t.Errorf("whole slot reads %q", got)
	}
}
