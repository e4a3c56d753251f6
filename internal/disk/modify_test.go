package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/depotfs/depot/internal/fileid"
)

func uploadBytes(t *testing.T, s *Store, b []byte, o UploadOptions) fileid.ID {
	t.Helper()
	o.Size = int64(len(b))
	if o.PathIndex == 0 {
		o.PathIndex = -1
	}
	id, err := s.Upload(t.Context(), bytes.NewReader(b), o)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAppender(t *testing.T) {
	s := openStore(t, Options{})
	id := uploadBytes(t, s, []byte("hello"), UploadOptions{Appender: true, Ext: "log"})
	if id.Kind() != fileid.Appender {
		t.Fatalf("kind %v, want appender", id.Kind())
	}
	want := []byte("hello")
	check := func(step string) {
		t.Helper()
		got, f := readAll(t, s, id)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: content %q, want %q", step, got, want)
		}
		st, err := os.Stat(f.F.Name())
		if err != nil {
			t.Fatal(err)
		}
		if !f.ModTime.Equal(st.ModTime()) {
			t.Errorf("%s: ModTime %v, want the file's mtime %v", step, f.ModTime, st.ModTime())
		}
		info, err := s.Stat(id)
		if err != nil || info.Size != int64(len(want)) || info.CRC32 != 0 {
			t.Errorf("%s: Stat = %+v, %v", step, info, err)
		}
		if sum, err := s.Checksum(id); err != nil || sum != crc32.ChecksumIEEE(want) {
			t.Errorf("%s: Checksum = %#x, %v", step, sum, err)
		}
	}
	check("upload")
	steps := []struct {
		name string
		do   func() error
		want string
		err  error
	}{
		{"append", func() error { return s.Append(t.Context(), id, strings.NewReader(" world"), 6) }, "hello world", nil},
		{"append unknown size", func() error { return s.Append(t.Context(), id, strings.NewReader("!"), -1) }, "hello world!", nil},
		{"append truncated", func() error { return s.Append(t.Context(), id, strings.NewReader("abc"), 10) }, "hello world!", ErrTruncated},
		{"append too large", func() error { return s.Append(t.Context(), id, strings.NewReader("abcdef"), 2) }, "hello world!", ErrTooLarge},
		{"modify", func() error { return s.Modify(t.Context(), id, 0, strings.NewReader("HE"), 2) }, "HEllo world!", nil},
		{"modify grows", func() error { return s.Modify(t.Context(), id, 11, strings.NewReader("?!?"), 3) }, "HEllo world?!?", nil},
		{"modify at end", func() error { return s.Modify(t.Context(), id, 14, strings.NewReader("."), 1) }, "HEllo world?!?.", nil},
		{"modify past end", func() error { return s.Modify(t.Context(), id, 16, strings.NewReader("x"), 1) }, "HEllo world?!?.", ErrInvalid},
		{"modify truncated", func() error { return s.Modify(t.Context(), id, 13, strings.NewReader("xyz"), 5) }, "HEllo world?!xy", ErrTruncated},
		{"truncate", func() error { return s.Truncate(id, 5) }, "HEllo", nil}, // the failed modify above kept its bytes but not its growth,
		{"truncate grows", func() error { return s.Truncate(id, 6) }, "HEllo", ErrInvalid},
		{"truncate negative", func() error { return s.Truncate(id, -1) }, "HEllo", ErrInvalid},
		{"truncate same", func() error { return s.Truncate(id, 5) }, "HEllo", nil},
		{"truncate to 0", func() error { return s.Truncate(id, 0) }, "", nil},
		{"append to empty", func() error { return s.Append(t.Context(), id, strings.NewReader("again"), 5) }, "again", nil},
	}
	for _, st := range steps {
		err := st.do()
		if !errors.Is(err, st.err) || (st.err == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.err)
		}
		want = []byte(st.want)
		check(st.name)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, id, strings.NewReader("x"), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with cancelled context = %v", err)
	}
	check("cancelled append")
}

func TestNotAppender(t *testing.T) {
	s := openStore(t, Options{})
	id := uploadBytes(t, s, []byte("plain"), UploadOptions{})
	if err := s.Append(t.Context(), id, strings.NewReader("x"), 1); !errors.Is(err, ErrNotAppender) {
		t.Errorf("Append = %v", err)
	}
	if err := s.Modify(t.Context(), id, 0, strings.NewReader("x"), 1); !errors.Is(err, ErrNotAppender) {
		t.Errorf("Modify = %v", err)
	}
	if err := s.Truncate(id, 0); !errors.Is(err, ErrNotAppender) {
		t.Errorf("Truncate = %v", err)
	}
	gone := uploadBytes(t, s, nil, UploadOptions{Appender: true})
	if err := s.Delete(gone); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(t.Context(), gone, strings.NewReader("x"), 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Append to deleted appender = %v, want ErrNotFound", err)
	}
}

func TestSlave(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	master := uploadBytes(t, s, []byte("master"), UploadOptions{Ext: "jpg"})
	slave, err := s.UploadSlave(t.Context(), master, "_big", "", strings.NewReader("slave bytes"), 11)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fileid.SlaveOf(master, "_big", "")
	if slave != want || slave.Kind() != fileid.Slave {
		t.Errorf("slave %s (%v), want %s", slave, slave.Kind(), want)
	}
	if got, _ := readAll(t, s, slave); string(got) != "slave bytes" {
		t.Errorf("slave content %q", got)
	}
	st, err := os.Lstat(filepath.Join(dir, "data", slave.RelPath()))
	if err != nil || !st.Mode().IsRegular() {
		t.Errorf("slave is not a regular file: %v %v", st, err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "_big", "", strings.NewReader("again"), 5); !errors.Is(err, ErrExists) {
		t.Errorf("second slave = %v, want ErrExists", err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "_s", "png", strings.NewReader("short"), 9); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated slave = %v, want ErrTruncated", err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "", "jpg", strings.NewReader("x"), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("slave named like its master = %v, want ErrInvalid", err)
	}
	if err := s.Delete(master); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "_small", "", strings.NewReader("x"), 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("slave of deleted master = %v, want ErrNotFound", err)
	}
	if files := listFiles(t, dir); len(files) != 1 {
		t.Errorf("files on disk %v, want the slave only", files)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	for _, o := range []UploadOptions{{Ext: "txt"}, {Appender: true}} {
		id := uploadBytes(t, s, []byte("data"), o)
		if err := s.SetMeta(id, map[string]string{"k": "v"}, false); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open after Delete = %v", err)
		}
		if _, err := s.Meta(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Meta after Delete = %v", err)
		}
		if err := s.Delete(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete = %v", err)
		}
	}
	if files := listFiles(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

func TestSetMeta(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	id := uploadBytes(t, s, []byte("data"), UploadOptions{Ext: "jpg"})
	metaFile := filepath.Join(dir, "data", id.RelPath()+"-m")
	steps := []struct {
		name  string
		m     map[string]string
		merge bool
		file  string // "" = no -m file
		err   error
	}{
		{"overwrite", map[string]string{"width": "160", "height": "80"}, false, "height\x0280\x01width\x02160", nil},
		{"merge", map[string]string{"width": "320", "ext_name": "jpg"}, true, "ext_name\x02jpg\x01height\x0280\x01width\x02320", nil},
		{"merge nothing", map[string]string{}, true, "ext_name\x02jpg\x01height\x0280\x01width\x02320", nil},
		{"bad name", map[string]string{"a\x01b": "c"}, true, "ext_name\x02jpg\x01height\x0280\x01width\x02320", ErrInvalid},
		{"bad value", map[string]string{"a": "b\x02"}, false, "ext_name\x02jpg\x01height\x0280\x01width\x02320", ErrInvalid},
		{"empty name", map[string]string{"": "x"}, false, "ext_name\x02jpg\x01height\x0280\x01width\x02320", ErrInvalid},
		{"long name", map[string]string{strings.Repeat("n", 65): "x"}, false, "ext_name\x02jpg\x01height\x0280\x01width\x02320", ErrInvalid},
		{"long value", map[string]string{"n": strings.Repeat("v", 257)}, false, "ext_name\x02jpg\x01height\x0280\x01width\x02320", ErrInvalid},
		{"limits", map[string]string{strings.Repeat("n", 64): strings.Repeat("v", 256)}, false, strings.Repeat("n", 64) + "\x02" + strings.Repeat("v", 256), nil},
		{"empty value", map[string]string{"a": ""}, false, "a\x02", nil},
		{"delete", nil, false, "", nil},
	}
	for _, st := range steps {
		err := s.SetMeta(id, st.m, st.merge)
		if !errors.Is(err, st.err) || (st.err == nil && err != nil) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.err)
		}
		b, rerr := os.ReadFile(metaFile)
		switch {
		case st.file == "" && !os.IsNotExist(rerr):
			t.Errorf("%s: -m file %q (%v), want none", st.name, b, rerr)
		case st.file != "" && string(b) != st.file:
			t.Errorf("%s: -m file %q, want %q", st.name, b, st.file)
		}
		m, err := s.Meta(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(formatMeta(m)); got != st.file {
			t.Errorf("%s: Meta = %q, want %q", st.name, got, st.file)
		}
	}
	missing := mustParse(t, "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin")
	if err := s.SetMeta(missing, map[string]string{"a": "b"}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMeta of a missing file = %v", err)
	}
	if files := listFiles(t, dir); len(files) != 1 {
		t.Errorf("files on disk: %v", files)
	}
}

func TestParseMeta(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"a\x02b", map[string]string{"a": "b"}},
		{"a\x02b\x01c\x02d", map[string]string{"a": "b", "c": "d"}},
		{"a\x01\x01c\x02", map[string]string{"a": "", "c": ""}},
		{"a\x02b\x02c", map[string]string{"a": "b\x02c"}},
		{"a\x021\x01a\x022", map[string]string{"a": "2"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := parseMeta([]byte(tc.in))
			if len(got) != len(tc.want) {
				t.Fatalf("parseMeta(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("parseMeta(%q)[%q] = %q, want %q", tc.in, k, got[k], v)
				}
			}
		})
	}
}

// TestConcurrentChanges: appends, metadata updates and reads of one appender file interleave
// without losing appends; a concurrent delete wins cleanly.
func TestConcurrentChanges(t *testing.T) {
	s := openStore(t, Options{})
	id := uploadBytes(t, s, nil, UploadOptions{Appender: true})
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Append(t.Context(), id, strings.NewReader("ab"), 2); err != nil {
				t.Error(err)
			}
			if err := s.SetMeta(id, map[string]string{fmt.Sprint("k", i): "v"}, true); err != nil {
				t.Error(err)
			}
			if _, err := s.Meta(id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := readAll(t, s, id)
	if string(got) != strings.Repeat("ab", n) {
		t.Errorf("content %q", got)
	}
	if m, err := s.Meta(id); err != nil || len(m) != n {
		t.Errorf("Meta = %d entries, %v; want %d", len(m), err, n)
	}
	for range 4 {
		wg.Go(func() {
			if err := s.Delete(id); err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
			if err := s.SetMeta(id, map[string]string{"late": "x"}, true); err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Delete = %v", err)
	}
	p := &s.paths[0]
	if _, err := os.Stat(p.data + id.RelPath() + "-m"); !os.IsNotExist(err) {
		t.Errorf("metadata outlives its file: %v", err)
	}
}

// TestSlaveNeverTakesAMetadataName: a slave named "<x>-m" must not become the metadata
// file of a later slave "<x>", and a slave "<x>-m" must not be made once "<x>" exists.
func TestSlaveNeverTakesAMetadataName(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: dir}}})
	master := uploadBytes(t, s, []byte("master"), UploadOptions{Ext: "jpg"})
	victim, err := s.UploadSlave(t.Context(), master, "_x", "txt-m", strings.NewReader("VICTIM"), 6)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "_x", "txt", strings.NewReader("second"), 6); !errors.Is(err, ErrExists) {
		t.Fatalf("slave whose metadata name is %s = %v, want ErrExists", victim, err)
	}
	if got, _ := readAll(t, s, victim); string(got) != "VICTIM" {
		t.Errorf("victim after the refused slave: %q", got)
	}

	// The other direction: "<x>" first, then "<x>-m" is refused as its metadata name.
	if _, err := s.UploadSlave(t.Context(), master, "_y", "txt", strings.NewReader("y"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UploadSlave(t.Context(), master, "_y", "txt-m", strings.NewReader("m"), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("slave named as another file's metadata = %v, want ErrInvalid", err)
	}
}
