package disk

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// readCached reads id through c and checks the handle is released.
func readCached(t *testing.T, c *FileCache, id fileid.ID) ([]byte, error) {
	t.Helper()
	f, h, err := c.Open(id)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	b := make([]byte, f.Size)
	_, err = f.F.ReadAt(b, f.Offset)
	return b, err
}

func TestFileCache(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 1})
	trunk := filepath.Join(dir, "data", "00", "00", "000007")
	a := writeSlot(t, trunk, trunkRegular, 0, 256, []byte("first slice"))
	b := writeSlot(t, trunk, trunkRegular, 256, 256, []byte("second slice"))
	link := writeSlot(t, trunk, trunkLink, 512, 256, []byte(a.Remote()))
	c := NewFileCache(s, time.Hour, 0)
	t.Cleanup(func() { c.Close() })

	tests := []struct {
		name string
		id   fileid.ID
		want string
		err  error
	}{
		{"first", a, "first slice", nil},
		{"second, same descriptor", b, "second slice", nil},
		{"link slot goes to Store.Open", link, "", ErrNotCached},
		{"missing normal file", mustParse(t, "group1/M00/00/00/fwAAAWsERz-AAVo2AAAQAEJxKVI757.bin"), "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCached(t, c, tt.id)
			if !errors.Is(err, tt.err) || (err == nil && string(got) != tt.want) {
				t.Fatalf("read %s = %q, %v; want %q, %v", tt.id, got, err, tt.want, tt.err)
			}
		})
	}
	if len(c.files) != 1 {
		t.Errorf("%d trunk files cached, want 1", len(c.files))
	}

	// A deleted slice is not found on the next read, through the cached descriptor.
	if err := s.Delete(a); err != nil {
		t.Fatal(err)
	}
	if _, err := readCached(t, c, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Delete: %v, want ErrNotFound", err)
	}
	if got, err := readCached(t, c, b); err != nil || string(got) != "second slice" {
		t.Errorf("other slice after Delete: %q, %v", got, err)
	}

	// A trunk file replaced behind the store (a new inode): the cached descriptor still sees
	// the old file, whose header does not match the new slice, so the cache reopens.
	tmp := trunk + ".new"
	c2 := writeSlot(t, tmp, trunkRegular, 768, 256, []byte("in the replacement"))
	if err := os.Rename(tmp, trunk); err != nil {
		t.Fatal(err)
	}
	if got, err := readCached(t, c, c2); err != nil || string(got) != "in the replacement" {
		t.Errorf("after replacing the trunk file: %q, %v", got, err)
	}
	if _, err := readCached(t, c, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("slice only in the old trunk file: %v, want ErrNotFound", err)
	}
}

// TestFileCacheNormal: a normal file read through the cache; a delete makes the next Open
// ErrNotFound and a file replaced by a rename onto its name returns the new bytes, each with
// a TTL of an hour (the fstat link check, not the expiry, notices).
func TestFileCacheNormal(t *testing.T) {
	s := openStore(t, Options{SubdirCount: 1})
	c := NewFileCache(s, time.Hour, 0)
	t.Cleanup(func() { c.Close() })
	id, err := s.Upload(t.Context(), bytes.NewReader([]byte("normal v1")), UploadOptions{Ext: "txt", PathIndex: -1, Size: 9})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := readCached(t, c, id); err != nil || string(got) != "normal v1" {
			t.Fatalf("read = %q, %v", got, err)
		}
	}
	_, f := readAll(t, s, id)
	name := f.F.Name()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, []byte("normal V2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
	if got, err := readCached(t, c, id); err != nil || string(got) != "normal V2" {
		t.Errorf("after replace = %q, %v; want the new bytes", got, err)
	}
	if err := s.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := readCached(t, c, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Delete: %v, want ErrNotFound", err)
	}
	slave, err := fileid.ParseRemote("group1", id.Remote()[:len(id.Remote())-4]+"_s.txt")
	if err == nil {
		if _, err := readCached(t, c, slave); !errors.Is(err, ErrNotCached) {
			t.Errorf("slave name: %v, want ErrNotCached", err)
		}
	}
}

// TestFileCacheExpiry: a replaced trunk file whose old copy still matches the slice header is
// picked up once the entry has expired (TTL 1ns: every Open reopens).
func TestFileCacheExpiry(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 1})
	trunk := filepath.Join(dir, "data", "00", "00", "000007")
	a := writeSlot(t, trunk, trunkRegular, 0, 256, []byte("version 1"))
	c := NewFileCache(s, time.Nanosecond, 0)
	t.Cleanup(func() { c.Close() })
	if got, err := readCached(t, c, a); err != nil || string(got) != "version 1" {
		t.Fatalf("read = %q, %v", got, err)
	}
	old, err := os.ReadFile(trunk)
	if err != nil {
		t.Fatal(err)
	}
	copy(old[trunkHeaderSize:], "VERSION 1") // same header, other bytes
	tmp := trunk + ".new"
	if err := os.WriteFile(tmp, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, trunk); err != nil {
		t.Fatal(err)
	}
	if got, err := readCached(t, c, a); err != nil || string(got) != "VERSION 1" {
		t.Errorf("after expiry = %q, %v; want the new bytes", got, err)
	}
	if err := os.Remove(trunk); err != nil {
		t.Fatal(err)
	}
	if _, err := readCached(t, c, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("trunk file removed: %v, want ErrNotFound", err)
	}
}

// TestFileCacheConcurrent: readers share descriptors while entries expire and are evicted
// (max 1 file, TTL 1ns); run with -race. Every read gets its own bytes.
func TestFileCacheConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 1})
	ids := []fileid.ID{
		writeSlot(t, filepath.Join(dir, "data", "00", "00", "000007"), trunkRegular, 0, 256, []byte("seven")),
		writeSlot(t, filepath.Join(dir, "data", "00", "00", "000008"), trunkRegular, 0, 256, []byte("eight")),
	}
	ids[1] = renumber(t, dir, ids[1])
	for _, tc := range []struct {
		name string
		ttl  time.Duration
		max  int
	}{{"long ttl", time.Hour, 0}, {"expiring, one file", time.Nanosecond, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewFileCache(s, tc.ttl, tc.max)
			defer c.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						id := ids[(g+i)%2]
						want := map[bool]string{true: "seven", false: "eight"}[(g+i)%2 == 0]
						got, err := readCached(t, c, id)
						if err != nil || string(got) != want {
							errs <- errors.Join(err, errors.New(string(got)+" != "+want))
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// renumber rewrites the slot of id (written into trunk file 000008 by writeSlot, which names
// trunk file 7) with an ID that names trunk file 8.
func renumber(t *testing.T, dir string, id fileid.ID) fileid.ID {
	t.Helper()
	slot, _ := id.Trunk()
	slot.File = 8
	size, _ := id.Size()
	nid, err := fileid.New(fileid.NewParams{Group: "group1", Created: 1795426361, Size: size,
		CRC32: id.CRC32(), Ext: "bin", Trunk: &slot})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "data", "00", "00", "000008"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := make([]byte, size)
	if _, err := f.ReadAt(content, trunkHeaderSize); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	h := wantTrunkHeader(nid, slot)
	h.Type = trunkRegular
	b := make([]byte, trunkHeaderSize)
	h.Encode(b)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return nid
}
