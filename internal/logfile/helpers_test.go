package logfile

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// zone is the tests' local time: a fixed offset, so that days do not depend on the machine.
var zone = time.FixedZone("T", 3600)

// at returns 2026-03-<d> hh:mm in zone.
func at(d, hh, mm int) time.Time { return time.Date(2026, 3, d, hh, mm, 0, 0, zone) }

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// open opens a Writer on dir/access.log with o and the clock, closed by cleanup.
func open(t *testing.T, dir string, c *fakeClock, o Options) *Writer {
	t.Helper()
	o.Path = filepath.Join(dir, "access.log")
	o.Now = c.Now
	w, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func write(t *testing.T, w *Writer, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if _, err := w.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
	}
}

// dirFiles returns the contents of every file in dir by name, gzipped ones decompressed
// (and checked to be valid gzip).
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
		}
		out[e.Name()] = string(b)
	}
	return out
}

// names returns the sorted keys of m.
func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkFiles fails unless dir holds exactly want (name → content).
func checkFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := dirFiles(t, dir)
	if strings.Join(keys(got), " ") != strings.Join(keys(want), " ") {
		t.Fatalf("files %v, want %v", keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
