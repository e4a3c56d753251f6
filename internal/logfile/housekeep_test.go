package logfile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// seed writes name → content files into dir, gzipped when the name ends with .gz.
func seed(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		var b bytes.Buffer
		if strings.HasSuffix(name, ".gz") {
			zw := gzip.NewWriter(&b)
			zw.Write([]byte(body))
			zw.Close()
		} else {
			b.WriteString(body)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// unrelated are files the cleanup must leave alone.
var unrelated = map[string]string{
	"access.log.1":                 "logrotate's\n",
	"error.2026-03-01.log":         "another log\n",
	"access.2026-03-01.log.gz.tmp": "a torn temporary\n",
	"access.2026-03-01.txt":        "not ours\n",
}

func with(m map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for _, x := range []map[string]string{m, more} {
		for k, v := range x {
			out[k] = v
		}
	}
	return out
}

// TestCompress: after a rotation the worker gzips rotated files CompressDaysBefore days old
// or older (readable, original removed) and leaves younger and unrelated files alone.
func TestCompress(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir, with(unrelated, map[string]string{
		"access.2026-03-07.log":   "7\n",
		"access.2026-03-08.1.log": "8\n",
		"access.2026-03-09.log":   "9\n",
	}))
	c := &fakeClock{t: at(10, 23, 0)}
	w := open(t, dir, c, Options{RotateDaily: true, Compress: true, CompressDaysBefore: 2})
	write(t, w, "10")
	c.Set(at(11, 0, 0))
	write(t, w, "11")
	w.Close() // waits for the worker
	checkFiles(t, dir, with(unrelated, map[string]string{
		"access.2026-03-07.log.gz":   "7\n",
		"access.2026-03-08.1.log.gz": "8\n",
		"access.2026-03-09.log.gz":   "9\n",
		"access.2026-03-10.log":      "10\n", // one day old: kept plain
		"access.log":                 "11\n",
	}))
	for _, n := range []string{"access.2026-03-07.log", "access.2026-03-09.log"} {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there after compression: %v", n, err)
		}
	}
}

// TestDeleteOld: at the delete time, rotated files more than KeepDays old go, gzipped or not.
func TestDeleteOld(t *testing.T) {
	dir := t.TempDir()
	old := map[string]string{
		"access.2026-03-05.log":      "5\n",
		"access.2026-03-06.1.log.gz": "6\n",
	}
	kept := map[string]string{
		"access.2026-03-07.log": "7\n",
		"access.2026-03-09.log": "9\n",
	}
	seed(t, dir, with(with(unrelated, old), kept))
	c := &fakeClock{t: at(10, 1, 0)}
	w := open(t, dir, c, Options{KeepDays: 3, DeleteAt: 90 * time.Minute})
	w.tick() // before the delete time: nothing
	w.Close()
	if got := len(dirFiles(t, dir)); got != len(unrelated)+len(old)+len(kept)+1 {
		t.Fatalf("%d files before the delete time", got)
	}
	w = open(t, dir, c, Options{KeepDays: 3, DeleteAt: 90 * time.Minute})
	c.Set(at(10, 1, 30))
	w.tick()
	w.Close()
	checkFiles(t, dir, with(with(unrelated, kept), map[string]string{"access.log": ""}))
}

// TestConcurrentRotation: goroutines write many lines at full speed while the clock crosses
// rotate times and files reach the size limit; every line is in exactly one file, whole.
func TestConcurrentRotation(t *testing.T) {
	const writers, lines = 8, 3000
	dir := t.TempDir()
	c := &fakeClock{t: at(10, 23, 59)}
	w := open(t, dir, c, Options{RotateDaily: true, RotateSize: 16 << 10, Compress: true, CompressDaysBefore: 1})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() { // the clock runs through three midnights; the timer's tick runs too
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c.Set(at(10, 23, 59).Add(time.Duration(i) * time.Second))
			if i%100 == 0 {
				w.tick()
			}
		}
	}()
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				l := fmt.Sprintf("writer %d line %d %s\n", g, i, strings.Repeat("x", i%50))
				if _, err := w.Write([]byte(l)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	w.Close()
	seen := map[string]int{}
	files := dirFiles(t, dir)
	for name, body := range files {
		if !strings.HasSuffix(body, "\n") && body != "" {
			t.Errorf("%s does not end with a whole line", name)
		}
		for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
			if l != "" {
				seen[l]++
			}
		}
	}
	for g := range writers {
		for i := range lines {
			l := fmt.Sprintf("writer %d line %d %s", g, i, strings.Repeat("x", i%50))
			if seen[l] != 1 {
				t.Fatalf("%q seen %d times", l, seen[l])
			}
			delete(seen, l)
		}
	}
	for l := range seen {
		t.Fatalf("%d lines nobody wrote (split lines?), such as %q", len(seen), l)
	}
	if len(files) < 3 {
		t.Errorf("only %d files: %v", len(files), keys(files))
	}
	t.Logf("%d files", len(files))
}
