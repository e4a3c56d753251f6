package disk

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/depotfs/depot/internal/fileid"
)

const fixtureDir = "../../testdata/fastdfs-store"

// bigFree is what the fake statfs reports by default: plenty of room.
func bigFree(string) (uint64, uint64, error) { return 1 << 40, 1 << 39, nil }

// openStore opens a store with one writable path in a temp dir (subdir count 4 unless set).
func openStore(t *testing.T, o Options) *Store {
	t.Helper()
	if o.Paths == nil {
		o.Paths = []PathConfig{{Dir: t.TempDir()}}
	}
	if o.SubdirCount == 0 {
		o.SubdirCount = 4
	}
	if o.Statfs == nil {
		o.Statfs = bigFree
	}
	if o.Group == "" {
		o.Group = "group1"
	}
	o.Source = [4]byte{127, 0, 0, 1}
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// copyFixture copies the FastDFS store path fixture into a temp dir.
func copyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// readAll opens id and returns its bytes.
func readAll(t *testing.T, s *Store, id fileid.ID) ([]byte, File) {
	t.Helper()
	f, err := s.Open(id)
	if err != nil {
		t.Fatalf("Open(%s): %v", id, err)
	}
	defer f.F.Close()
	b, err := io.ReadAll(io.NewSectionReader(f.F, f.Offset, f.Size))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != f.Size {
		t.Fatalf("Open(%s): read %d bytes, size %d", id, len(b), f.Size)
	}
	return b, f
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func mustParse(t testing.TB, s string) fileid.ID {
	t.Helper()
	id, err := fileid.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return id
}

// listFiles returns every regular file below dir/data, relative to it.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pattern returns n bytes of a deterministic pattern.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}
