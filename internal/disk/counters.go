package disk

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Keys of the round-robin counters in storage_stat.dat (FastDFS's names).
const (
	keyDistHigh  = "dist_path_index_high"
	keyDistLow   = "dist_path_index_low"
	keyDistCount = "dist_write_file_count"
)

// distributor is file_distribute_path_mode = 0: the current sub-directory (high, low) takes
// rotate files, then low advances, wrapping into high. The counters are saved to the stat file
// whenever the directory advances and on Close; a crash loses at most one rotation's count,
// which only changes how many files land in one directory.
type distributor struct {
	file      string
	subdirs   int
	rotate    int
	log       *slog.Logger
	mu        sync.Mutex
	high, low int
	count     int
	dirty     bool
	others    []string // lines of the stat file that are not ours, kept as read
	saveMu    sync.Mutex
}

func newDistributor(file string, subdirs, rotate int, log *slog.Logger) *distributor {
	d := &distributor{file: file, subdirs: subdirs, rotate: rotate, log: log}
	if file == "" {
		return d
	}
	// A crash while saving leaves a scratch file beside the stat file: remove it.
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(file), tmpPrefix+"*")); len(stale) > 0 {
		for _, f := range stale {
			if err := os.Remove(f); err != nil {
				log.Warn("cannot remove a stale stat scratch file", "file", f, "err", err)
			}
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		if !os.IsNotExist(err) {
			log.Warn("cannot read stat file; distribution counters start at 0", "file", file, "err", err)
		}
		return d
	}
	d.load(b)
	return d
}

// clampCounter reads a counter; garbage or out of range reads as 0.
func clampCounter(s string, limit int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= limit {
		return 0
	}
	return n
}

// parseStatFile splits an ini-like "key=value" file into our counters and the other lines.
func parseStatFile(b []byte) (map[string]string, []string) {
	vals := map[string]string{}
	var others []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if ok && (k == keyDistHigh || k == keyDistLow || k == keyDistCount) {
			vals[k] = strings.TrimSpace(v)
			continue
		}
		if strings.TrimSpace(line) != "" {
			others = append(others, line)
		}
	}
	return vals, others
}

// next returns the sub-directory for one new file and advances the counters.
func (d *distributor) next() (uint8, uint8) {
	d.mu.Lock()
	h, l := d.high, d.low
	d.count++
	advanced := false
	if d.count >= d.rotate {
		d.count = 0
		d.low++
		if d.low >= d.subdirs {
			d.low = 0
			d.high = (d.high + 1) % d.subdirs
		}
		advanced = true
	}
	d.dirty = true
	d.mu.Unlock()
	if advanced {
		if err := d.save(); err != nil {
			d.log.Warn("cannot save distribution counters", "file", d.file, "err", err)
		}
	}
	return uint8(h), uint8(l)
}

// save writes the counters with temp file + fsync + rename, when they changed.
func (d *distributor) save() error {
	if d.file == "" {
		return nil
	}
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	d.mu.Lock()
	if !d.dirty {
		d.mu.Unlock()
		return nil
	}
	b := d.render()
	d.dirty = false
	d.mu.Unlock()
	if err := writeFileAtomic(d.file, b); err != nil {
		d.mu.Lock()
		d.dirty = true
		d.mu.Unlock()
		return fmt.Errorf("disk: save %s: %w", d.file, err)
	}
	return nil
}

// render formats the stat file: the lines that are not ours, then the counters. d.mu is held.
func (d *distributor) render() []byte {
	var b bytes.Buffer
	for _, l := range d.others {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s=%d\n%s=%d\n%s=%d\n", keyDistHigh, d.high, keyDistLow, d.low, keyDistCount, d.count)
	return b.Bytes()
}

// load sets the counters and the other lines from the content of a stat file.
func (d *distributor) load(b []byte) {
	vals, others := parseStatFile(b)
	d.others = others
	d.high = clampCounter(vals[keyDistHigh], d.subdirs)
	d.low = clampCounter(vals[keyDistLow], d.subdirs)
	d.count = clampCounter(vals[keyDistCount], d.rotate)
}

// writeFileAtomic replaces path with b: temp file in the same directory, fsync, rename,
// fsync of the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	if err := commitTemp(f, f.Name(), path, b); err != nil {
		return err
	}
	return syncDir(dir)
}

// commitTemp writes b to the scratch file f (named tmp), fsyncs and closes it, and renames it
// over path; on any error the scratch file is removed. The caller fsyncs the directory.
func commitTemp(f *os.File, tmp, path string, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
