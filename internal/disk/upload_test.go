package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

func TestUploadRoundTrip(t *testing.T) {
	s := openStore(t, Options{})
	for _, n := range []int{0, 1, 5 << 20} {
		for _, ext := range []string{"", "jpg", "abcdef"} {
			t.Run(fmt.Sprintf("%d.%s", n, ext), func(t *testing.T) {
				data := pattern(n)
				id, err := s.Upload(t.Context(), bytes.NewReader(data), UploadOptions{Ext: ext, PathIndex: -1, Size: int64(n)})
				if err != nil {
					t.Fatal(err)
				}
				if id.Kind() != fileid.Normal || id.Group() != "group1" || id.SourceBytes() != [4]byte{127, 0, 0, 1} {
					t.Errorf("ID %s: kind %v group %q", id, id.Kind(), id.Group())
				}
				if size, _ := id.Size(); size != int64(n) {
					t.Errorf("ID size %d, want %d", size, n)
				}
				if ext != "" && !strings.HasSuffix(id.Name(), "."+ext) {
					t.Errorf("ID %s lacks .%s", id, ext)
				}
				got, f := readAll(t, s, id)
				if !bytes.Equal(got, data) {
					t.Fatal("content differs")
				}
				st, err := os.Stat(f.F.Name())
				if err != nil {
					t.Fatal(err)
				}
				if id.CreatedUnix() != st.ModTime().Unix() || !f.ModTime.Equal(id.Created()) {
					t.Errorf("create time %d, file mtime %v, ModTime %v", id.CreatedUnix(), st.ModTime(), f.ModTime)
				}
				back, err := fileid.Parse(id.String())
				if err != nil || back != id {
					t.Errorf("Parse(String()) = %v, %v", back, err)
				}
			})
		}
	}
}

func TestUploadUnknownSize(t *testing.T) {
	s := openStore(t, Options{})
	data := pattern(1<<20 + 3)
	id, err := s.Upload(t.Context(), io.MultiReader(bytes.NewReader(data[:10]), bytes.NewReader(data[10:])), UploadOptions{PathIndex: 0, Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, s, id); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

// failingReader returns n bytes of data and then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// cancelReader cancels a context after the first chunk.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

// TestUploadFailuresLeaveNothing: every failed upload leaves no file, no temp file.
func TestUploadFailuresLeaveNothing(t *testing.T) {
	data := pattern(1 << 20)
	cases := []struct {
		name string
		r    func(cancel context.CancelFunc) io.Reader
		size int64
		want error
	}{
		{"short", func(context.CancelFunc) io.Reader { return bytes.NewReader(data[:1000]) }, 2000, ErrTruncated},
		{"unexpected EOF", func(context.CancelFunc) io.Reader {
			return &failingReader{bytes.NewReader(data[:1000]), io.ErrUnexpectedEOF}
		}, -1, ErrTruncated},
		{"too large", func(context.CancelFunc) io.Reader { return bytes.NewReader(data) }, 1000, ErrTooLarge},
		{"too large by one", func(context.CancelFunc) io.Reader { return bytes.NewReader(data[:1001]) }, 1000, ErrTooLarge},
		{"reader error", func(context.CancelFunc) io.Reader {
			return &failingReader{bytes.NewReader(data[:1000]), os.ErrDeadlineExceeded}
		}, 1 << 20, os.ErrDeadlineExceeded},
		{"cancelled", func(c context.CancelFunc) io.Reader { return &cancelReader{bytes.NewReader(data), c} }, -1, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			id, err := s.Upload(ctx, tc.r(cancel), UploadOptions{Ext: "bin", PathIndex: -1, Size: tc.size})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Upload = %v, %v; want %v", id, err, tc.want)
			}
			if files := listFiles(t, dir); len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

func TestUploadNoSpace(t *testing.T) {
	cases := []struct {
		name     string
		reserved Reserved
		free     uint64
		size     int64
	}{
		{"bytes", Reserved{Bytes: 1 << 30}, 1 << 29, 10},
		{"percent", Reserved{Percent: 10}, 1 << 30, 10}, // total 2^40: 10% is far above 1 GiB free
		{"file too big", Reserved{Bytes: 1 << 20}, 2 << 20, 2 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, Reserved: tc.reserved,
				Statfs: func(string) (uint64, uint64, error) { return 1 << 40, tc.free, nil }})
			for _, idx := range []int{-1, 0} {
				_, err := s.Upload(t.Context(), bytes.NewReader(pattern(int(tc.size))), UploadOptions{PathIndex: idx, Size: tc.size})
				if !errors.Is(err, ErrNoSpace) {
					t.Errorf("Upload(path %d) = %v, want ErrNoSpace", idx, err)
				}
			}
			if files := listFiles(t, dir); len(files) != 0 {
				t.Errorf("files left: %v", files)
			}
		})
	}
}

// TestUploadSkipsFullPath: round robin over paths skips a full one and a read-only one.
func TestUploadSkipsFullPath(t *testing.T) {
	full, ro, ok := t.TempDir(), t.TempDir(), t.TempDir()
	s := openStore(t, Options{
		Paths:    []PathConfig{{Dir: full}, {Dir: ro, ReadOnly: true}, {Dir: ok}},
		Reserved: Reserved{Bytes: 1 << 30},
		Statfs: func(dir string) (uint64, uint64, error) {
			if dir == full {
				return 1 << 40, 1 << 20, nil
			}
			return 1 << 40, 1 << 39, nil
		},
	})
	for range 5 {
		id, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: -1, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if id.StorePath() != 2 {
			t.Errorf("upload went to path %d, want 2", id.StorePath())
		}
	}
	if _, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: 1, Size: 1}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Upload to read-only path = %v, want ErrReadOnly", err)
	}
	if _, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: 3, Size: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Upload to path 3 = %v, want ErrInvalid", err)
	}
}

func TestReadOnlyPath(t *testing.T) {
	dir := copyFixture(t)
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir, ReadOnly: true}}, SubdirCount: 256})
	if _, err := os.Stat(filepath.Join(dir, "data", tmpDirName)); !os.IsNotExist(err) {
		t.Errorf("read-only path got a scratch directory: %v", err)
	}
	if _, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: -1, Size: 1}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Upload = %v, want ErrReadOnly", err)
	}
	id := mustParse(t, fixtureFiles[0].id)
	if err := s.Delete(id); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Delete = %v, want ErrReadOnly", err)
	}
	if err := s.SetMeta(id, map[string]string{"a": "b"}, true); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SetMeta = %v, want ErrReadOnly", err)
	}
	if _, err := s.UploadSlave(t.Context(), id, "_s", "", strings.NewReader("x"), 1); !errors.Is(err, ErrReadOnly) {
		t.Errorf("UploadSlave = %v, want ErrReadOnly", err)
	}
	u, err := s.Usage()
	if err != nil || len(u) != 1 || !u[0].ReadOnly || u[0].Total != 1<<40 {
		t.Errorf("Usage = %+v, %v", u, err)
	}
	if _, err := s.Open(id); err != nil {
		t.Errorf("Open = %v", err)
	}
}

func TestRoundRobinDirs(t *testing.T) {
	dir := t.TempDir()
	stat := filepath.Join(t.TempDir(), "storage_stat.dat")
	if err := os.WriteFile(stat, []byte("total_upload_count=7\ndist_path_index_high=0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 2, RotateCount: 3, StatFile: stat}
	s := openStore(t, o)
	var got []string
	upload := func(s *Store) {
		id, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: -1, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, id.RelPath()[:5])
	}
	for range 7 {
		upload(s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(stat)
	if err != nil {
		t.Fatal(err)
	}
	want := "total_upload_count=7\ndist_path_index_high=1\ndist_path_index_low=0\ndist_write_file_count=1\n"
	if string(b) != want {
		t.Errorf("stat file:\n%s\nwant:\n%s", b, want)
	}
	s2 := openStore(t, o)
	for range 7 {
		upload(s2)
	}
	wantDirs := "00/00 00/00 00/00 00/01 00/01 00/01 01/00 01/00 01/00 01/01 01/01 01/01 00/00 00/00"
	if strings.Join(got, " ") != wantDirs {
		t.Errorf("dirs:\n%s\nwant:\n%s", strings.Join(got, " "), wantDirs)
	}
}

func TestRoundRobinGarbledStatFile(t *testing.T) {
	stat := filepath.Join(t.TempDir(), "storage_stat.dat")
	if err := os.WriteFile(stat, []byte("dist_path_index_high=x\x00\ndist_path_index_low=99\n\xff=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, Options{SubdirCount: 2, RotateCount: 1, StatFile: stat})
	id, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: -1, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if id.RelPath()[:5] != "00/00" {
		t.Errorf("first upload in %s, want 00/00", id.RelPath()[:5])
	}
}

func TestHashDirs(t *testing.T) {
	s := openStore(t, Options{SubdirCount: 4, DistributeMode: 1})
	seen := map[string]bool{}
	for range 40 {
		id, err := s.Upload(t.Context(), strings.NewReader("x"), UploadOptions{PathIndex: -1, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		d1, d2 := id.Dirs()
		if d1 >= 4 || d2 >= 4 {
			t.Fatalf("dir %s out of range", id.RelPath())
		}
		seen[id.RelPath()[:5]] = true
		if _, err := s.Stat(id); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 4 {
		t.Errorf("40 hashed uploads used only %d dirs", len(seen))
	}
}

// TestNameCollision: with random bits that never change, the second identical upload in the
// same second cannot find a free name.
func TestNameCollision(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}, Rand: func() uint32 { return 42 }})
	if err := os.Chtimes(dir, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var ids []fileid.ID
	var lastErr error
	for range 3 {
		id, err := s.Upload(t.Context(), strings.NewReader("same"), UploadOptions{PathIndex: 0, Size: 4, Ext: "txt"})
		if err != nil {
			lastErr = err
			continue
		}
		ids = append(ids, id)
	}
	// Uploads in different seconds get different names; in the same second the later ones fail.
	if lastErr != nil && !errors.Is(lastErr, ErrExists) {
		t.Errorf("collision error %v, want ErrExists", lastErr)
	}
	seen := map[fileid.ID]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("ID %s returned twice", id)
		}
		seen[id] = true
	}
	if n := len(listFiles(t, dir)); n != len(ids) {
		t.Errorf("%d files on disk, %d IDs", n, len(ids))
	}
}

func TestConcurrentUploads(t *testing.T) {
	s := openStore(t, Options{RotateCount: 3})
	const n = 50
	ids := make([]fileid.ID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = s.Upload(t.Context(), bytes.NewReader(pattern(1000+i)), UploadOptions{Ext: "dat", PathIndex: -1, Size: int64(1000 + i)})
		})
	}
	wg.Wait()
	seen := map[fileid.ID]bool{}
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("upload %d: %v", i, errs[i])
		}
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
		if got, _ := readAll(t, s, id); !bytes.Equal(got, pattern(1000+i)) {
			t.Errorf("upload %d: content differs", i)
		}
	}
}

// TestTempFiles: scratch files live where no ID can name them and are removed on Open.
func TestTempFiles(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	f, name, err := createTemp(&s.paths[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	base := filepath.Base(name)
	for _, remote := range []string{
		"M00/" + tmpDirName + "/" + base,
		"M00/00/00/" + base,
		"M00/" + tmpDirName[:2] + "/00/" + base,
	} {
		if id, err := fileid.ParseRemote("group1", remote); err == nil {
			t.Errorf("temp path %q parses as %s", remote, id)
		}
	}
	s.Close()
	if _, err := Open(Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 4, Statfs: bigFree}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("leftover temp file survives Open: %v", err)
	}
}

// TestOpenSkipsExistingFanOut: the fan-out is created once; a later Open trusts the last dir.
func TestOpenSkipsExistingFanOut(t *testing.T) {
	dir := t.TempDir()
	o := Options{Paths: []PathConfig{{Dir: dir}}, SubdirCount: 3}
	openStore(t, o).Close()
	for i := range 3 {
		for j := range 3 {
			if _, err := os.Stat(filepath.Join(dir, "data", subdirName(i), subdirName(j))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Remove(filepath.Join(dir, "data", "01", "01")); err != nil {
		t.Fatal(err)
	}
	openStore(t, o).Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "01", "01")); !os.IsNotExist(err) {
		t.Errorf("fan-out was walked again: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "data", "02", "02")); err != nil {
		t.Fatal(err)
	}
	openStore(t, o).Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "01", "01")); err != nil {
		t.Errorf("fan-out not repaired: %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	cases := map[string]Options{
		"no paths":     {},
		"subdirs 257":  {Paths: []PathConfig{{Dir: "/x"}}, SubdirCount: 257},
		"mode 2":       {Paths: []PathConfig{{Dir: "/x"}}, DistributeMode: 2},
		"percent 100":  {Paths: []PathConfig{{Dir: "/x"}}, Reserved: Reserved{Percent: 100}},
		"empty dir":    {Paths: []PathConfig{{Dir: ""}}},
		"bad group":    {Paths: []PathConfig{{Dir: "/x"}}, Group: "group-1"},
		"missing ro":   {Paths: []PathConfig{{Dir: "/nonexistent/depot", ReadOnly: true}}},
		"path is file": {Paths: []PathConfig{{Dir: "/etc/hostname", ReadOnly: true}}},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			if s, err := Open(o); err == nil {
				s.Close()
				t.Errorf("Open(%+v) succeeded", o)
			}
		})
	}
}

// TestUploadNegativePathIndex: only -1 means "the store chooses"; other negative indexes are
// refused and leave nothing on disk.
func TestUploadNegativePathIndex(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	for _, idx := range []int{-2, -7, -1 << 31} {
		_, err := s.Upload(t.Context(), bytes.NewReader([]byte("x")), UploadOptions{PathIndex: idx, Size: 1})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Upload with store path index %d = %v, want ErrInvalid", idx, err)
		}
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files on disk after refused uploads: %v", files)
	}
	if _, err := s.Upload(t.Context(), bytes.NewReader([]byte("x")), UploadOptions{PathIndex: -1, Size: 1}); err != nil {
		t.Errorf("Upload with index -1 = %v", err)
	}
}

// TestDiskFullIsSaidSo: a write that the kernel refuses with ENOSPC (here /dev/full) is
// ErrNoSpace worded as a full disk naming the file, not as reserved_storage_space.
func TestDiskFullIsSaidSo(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer f.Close()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: t.TempDir()}}})
	_, _, err = s.copyIn(t.Context(), f, 0, bytes.NewReader([]byte("data")), 4)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("write to a full disk = %v, want ErrNoSpace", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "disk full") || !strings.Contains(msg, "/dev/full") || strings.Contains(msg, "reserved_storage_space") {
		t.Errorf("full-disk error %q: want \"disk full\" and the file, not reserved_storage_space", msg)
	}
}
