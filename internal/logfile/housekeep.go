package logfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Background jobs.
const (
	jobCompress uint32 = 1 << iota
	jobDelete
	jobRotated
)

// maxWait bounds the timer goroutine's sleep, so that a clock set forward is noticed.
const maxWait = time.Minute

// queue asks the worker for jobs; it never blocks.
func (w *Writer) queue(jobs uint32) {
	w.jobs.Or(jobs)
	select {
	case w.kick <- struct{}{}:
	default: // a kick is pending: the worker will see these jobs too
	}
}

// worker runs queued jobs until Close, then the ones still pending.
func (w *Writer) worker() {
	defer w.wg.Done()
	for {
		select {
		case <-w.kick:
			w.housekeep(w.jobs.Swap(0))
		case <-w.done:
			w.housekeep(w.jobs.Swap(0))
			return
		}
	}
}

// timer wakes at the next rotation or cleanup time and runs tick.
func (w *Writer) timer() {
	defer w.wg.Done()
	t := time.NewTimer(w.wait())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.tick()
			t.Reset(w.wait())
		case <-w.done:
			return
		}
	}
}

// wait returns how long the timer sleeps: until the next event, at most maxWait.
func (w *Writer) wait() time.Duration {
	now := w.o.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	d := maxWait
	for _, at := range [...]time.Time{w.next, w.nextClean} {
		if !at.IsZero() {
			d = min(d, max(at.Sub(now), 0))
		}
	}
	return d
}

// tick rotates when the rotate time has passed and queues the daily cleanup when its time has.
func (w *Writer) tick() {
	now := w.o.Now()
	w.mu.Lock()
	if w.f != nil && !w.next.IsZero() && !now.Before(w.next) {
		w.rotateLocked(now, true)
	}
	clean := !w.nextClean.IsZero() && !now.Before(w.nextClean)
	if clean {
		w.nextClean = nextAt(now, w.o.DeleteAt)
	}
	w.mu.Unlock()
	if clean {
		w.queue(jobCompress | jobDelete)
	}
}

// housekeep compresses and deletes rotated files as jobs says and the options allow.
func (w *Writer) housekeep(jobs uint32) {
	if jobs&jobRotated != 0 {
		w.mu.Lock()
		done := w.rotated
		w.rotated = nil
		w.mu.Unlock()
		for _, p := range done {
			w.o.Rotated(p)
		}
	}
	compress := jobs&jobCompress != 0 && w.o.Compress
	del := jobs&jobDelete != 0 && w.o.KeepDays > 0
	if !compress && !del {
		return
	}
	entries, err := os.ReadDir(w.names.dir)
	if err != nil {
		w.log.Error("log file: list old files", "dir", w.names.dir, "err", err)
		return
	}
	today := dayOf(w.o.Now())
	for _, e := range entries {
		d, gz, ok := w.names.parse(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(w.names.dir, e.Name())
		age := d.daysSince(today)
		switch {
		case del && age > w.o.KeepDays:
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				w.log.Error("log file: delete old file", "path", p, "err", err)
			}
		case compress && !gz && age >= w.o.CompressDaysBefore:
			if err := gzipFile(p); err != nil {
				w.log.Error("log file: compress old file", "path", p, "err", err)
			}
		}
	}
}

// gzipFile writes p.gz (through p.gz.tmp, renamed when complete) and removes p. A p.gz that
// exists already is complete (a crash between rename and remove): p just goes.
func gzipFile(p string) error {
	gzPath := p + ".gz"
	if !exists(gzPath) {
		if err := writeGzip(p, gzPath+".tmp"); err != nil {
			return err
		}
		if err := os.Rename(gzPath+".tmp", gzPath); err != nil {
			return fmt.Errorf("rename %s: %w", gzPath+".tmp", err)
		}
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("remove %s after compressing: %w", p, err)
	}
	return nil
}

// writeGzip compresses src into dst (truncated) and syncs it.
func writeGzip(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close %s: %w", dst, cerr)
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	zw := gzip.NewWriter(out)
	zw.Name = filepath.Base(src)
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("compress %s into %s: %w", src, dst, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s into %s: %w", src, dst, err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dst, err)
	}
	return nil
}
