package disk

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// refuseWrites makes dir refuse new entries until the test ends: mode 0555 for a user, the
// immutable attribute for root (whom modes do not stop). It skips the test where neither
// works.
func refuseWrites(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root and chattr +i %s failed (%v: %s): cannot make a directory refuse root's writes", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", dir, err, out)
		}
	})
}

// TestCheckWritable: a path that stops taking writes is named by CheckWritable until it takes
// them again; a path configured read-only is not probed; a path that refused writes at Open
// (and is served read-only) is named too.
func TestCheckWritable(t *testing.T) {
	a, b, ro := t.TempDir(), t.TempDir(), t.TempDir()
	s := openStore(t, Options{Paths: []PathConfig{{Dir: a}, {Dir: b}, {Dir: ro, ReadOnly: true}}})
	if err := s.CheckWritable(); err != nil {
		t.Fatalf("fresh store: %v", err)
	}
	refuseWrites(t, ro)
	if err := s.CheckWritable(); err != nil {
		t.Fatalf("a read-only path was probed: %v", err)
	}

	scratch := filepath.Join(b, "data", tmpDirName)
	refuseWrites(t, scratch)
	err := s.CheckWritable()
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "store_path1 "+b) || strings.Contains(err.Error(), a) {
		t.Fatalf("store_path1 refuses writes: CheckWritable = %v, want ErrReadOnly naming store_path1 %s only", err, b)
	}
	if entries, _ := os.ReadDir(filepath.Join(a, "data", tmpDirName)); len(entries) != 0 {
		t.Errorf("the probe left %d files in store_path0's scratch directory", len(entries))
	}

	// The same path at the next start: served read-only, and still named.
	s.Close()
	s2 := openStore(t, Options{Paths: []PathConfig{{Dir: a}, {Dir: b}}})
	err = s2.CheckWritable()
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "store_path1 "+b+" refused writes when the node started") {
		t.Fatalf("after a start on a path refusing writes: CheckWritable = %v", err)
	}
	if u, _ := s2.Usage(); !u[1].ReadOnly {
		t.Errorf("store_path1 not served read-only: %+v", u)
	}
}
