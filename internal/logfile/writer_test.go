package logfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRotateDaily: at the rotate time the file is renamed to the day its lines belong to.
func TestRotateDaily(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rotateAt  time.Duration
		before    time.Time // first line
		after     time.Time // second line: past the rotate time
		wantDated string
	}{
		{"midnight", 0, at(10, 23, 59), at(11, 0, 0), "access.2026-03-10.log"},
		{"03:00 the same day", 3 * time.Hour, at(11, 1, 0), at(11, 3, 0), "access.2026-03-10.log"},
		{"03:00 next day", 3 * time.Hour, at(10, 4, 0), at(11, 3, 30), "access.2026-03-10.log"},
		{"days later", 0, at(10, 12, 0), at(14, 9, 0), "access.2026-03-10.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &fakeClock{t: tc.before}
			w := open(t, dir, c, Options{RotateDaily: true, RotateAt: tc.rotateAt})
			write(t, w, "one")
			c.Set(tc.after)
			write(t, w, "two")
			checkFiles(t, dir, map[string]string{tc.wantDated: "one\n", "access.log": "two\n"})
		})
	}
}

// TestRotateByTimer: the timer's tick rotates with no write, and an empty file is not rotated.
func TestRotateByTimer(t *testing.T) {
	dir := t.TempDir()
	c := &fakeClock{t: at(10, 22, 0)}
	w := open(t, dir, c, Options{RotateDaily: true})
	write(t, w, "one")
	c.Set(at(11, 0, 0))
	w.tick()
	checkFiles(t, dir, map[string]string{"access.2026-03-10.log": "one\n", "access.log": ""})
	c.Set(at(12, 0, 1))
	w.tick()
	checkFiles(t, dir, map[string]string{"access.2026-03-10.log": "one\n", "access.log": ""})
	write(t, w, "two")
	c.Set(at(13, 0, 0))
	write(t, w, "three")
	checkFiles(t, dir, map[string]string{"access.2026-03-10.log": "one\n", "access.2026-03-12.log": "two\n", "access.log": "three\n"})
}

// TestRotateSize: a write that would pass the size rotates first; same-day files get counters;
// a line longer than the limit still goes whole into a file of its own.
func TestRotateSize(t *testing.T) {
	dir := t.TempDir()
	c := &fakeClock{t: at(10, 12, 0)}
	w := open(t, dir, c, Options{RotateSize: 10})
	write(t, w, "aaaa", "bbbb", "cccc", "a line longer than ten", "dd")
	checkFiles(t, dir, map[string]string{
		"access.2026-03-10.log":   "aaaa\nbbbb\n",
		"access.2026-03-10.1.log": "cccc\n",
		"access.2026-03-10.2.log": "a line longer than ten\n",
		"access.log":              "dd\n",
	})
}

// TestReopen: after an external mv, lines go to the moved file until Reopen, then to a new
// file at the path; none is lost.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	c := &fakeClock{t: at(10, 12, 0)}
	w := open(t, dir, c, Options{RotateDaily: true})
	write(t, w, "one")
	if err := os.Rename(filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1")); err != nil {
		t.Fatal(err)
	}
	write(t, w, "two")
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, w, "three")
	checkFiles(t, dir, map[string]string{"access.log.1": "one\ntwo\n", "access.log": "three\n"})
	w.Close()
	if err := w.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close: %v", err)
	}
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

// TestOpenOldFile: a live file last written days ago is rotated under its own day at once.
func TestOpenOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "access.log")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at(7, 15, 0), at(7, 15, 0)); err != nil {
		t.Fatal(err)
	}
	c := &fakeClock{t: at(10, 12, 0)}
	w := open(t, dir, c, Options{RotateDaily: true})
	write(t, w, "new")
	checkFiles(t, dir, map[string]string{"access.2026-03-07.log": "old\n", "access.log": "new\n"})
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{},
		{Path: filepath.Join(dir, "a.log"), RotateSize: -1},
		{Path: filepath.Join(dir, "a.log"), KeepDays: -1},
		{Path: filepath.Join(dir, "a.log"), RotateAt: 24 * time.Hour},
		{Path: filepath.Join(dir, "a.log"), DeleteAt: 90 * time.Second},
	} {
		if _, err := Open(o); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		path, base string
		ok, gz     bool
		day        string
	}{
		{"/l/access.log", "access.2026-03-10.log", true, false, "2026-03-10"},
		{"/l/access.log", "access.2026-03-10.12.log.gz", true, true, "2026-03-10"},
		{"/l/access.log", "access.2026-03-10.01.log", false, false, ""},
		{"/l/access.log", "access.2026-03-10.log.gz.tmp", false, false, ""},
		{"/l/access.log", "access.log", false, false, ""},
		{"/l/access.log", "access.2026-13-10.log", false, false, ""},
		{"/l/access.log", "error.2026-03-10.log", false, false, ""},
		{"/l/access.log", "access.2026-03-10.txt", false, false, ""},
		{"/l/access", "access.2026-03-10", true, false, "2026-03-10"},
		{"/l/access", "access.2026-03-10.3.gz", true, true, "2026-03-10"},
	} {
		nm := splitPath(tc.path)
		d, gz, ok := nm.parse(tc.base)
		if ok != tc.ok || gz != tc.gz || (ok && d.String() != tc.day) {
			t.Errorf("%s in %s: %v %v %v, want %s %v %v", tc.base, tc.path, d, gz, ok, tc.day, tc.gz, tc.ok)
		}
		if ok {
			if got := filepath.Base(nm.rotated(d, 0)); got != "access.2026-03-10"+filepath.Ext(tc.path) {
				t.Errorf("rotated name %s", got)
			}
		}
	}
}
