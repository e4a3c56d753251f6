package logfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Errors.
var (
	ErrOptions = errors.New("logfile: invalid options")
	ErrClosed  = errors.New("logfile: closed")
)

// Options configures a Writer. Times of day are offsets from midnight in whole minutes, in
// the clock's location.
type Options struct {
	Path        string        // the live file; its directory is created
	RotateDaily bool          // log_file_rotate_everyday
	RotateAt    time.Duration // log_file_rotate_time (00:00)
	RotateSize  int64         // log_file_rotate_on_size: rotate before a write would pass it; 0 = off
	KeepDays    int           // log_file_keep_days: delete rotated files older than this; 0 = keep all
	Compress    bool          // log_file_compress_old
	// CompressDaysBefore (log_file_compress_days_before) is the age in days, by the file
	// name's date, from which a rotated file is gzipped. FastDFS's default is 1.
	CompressDaysBefore int
	DeleteAt           time.Duration // log_file_delete_old_time: when the daily cleanup runs
	// Rotated, when set, is called with each rotated file's path on the background worker,
	// before the file may be compressed (the node imports it into its statistics).
	Rotated func(path string)
	Now     func() time.Time // nil = time.Now
	Logger  *slog.Logger     // nil = discard
}

func (o *Options) check() error {
	if o.Path == "" {
		return fmt.Errorf("%w: no path", ErrOptions)
	}
	if o.RotateSize < 0 || o.KeepDays < 0 || o.CompressDaysBefore < 0 {
		return fmt.Errorf("%w: %s: negative size or days (rotate size %d, keep days %d, compress days before %d)",
			ErrOptions, o.Path, o.RotateSize, o.KeepDays, o.CompressDaysBefore)
	}
	return errors.Join(checkTimeOfDay("rotate time", o.RotateAt), checkTimeOfDay("delete time", o.DeleteAt))
}

// Writer is a rotating log file. It is safe for concurrent use; see the package doc for the
// whole-line rule. Close it to stop its goroutines.
type Writer struct {
	o     Options
	names names
	log   *slog.Logger

	mu        sync.Mutex
	f         *os.File // nil once closed
	size      int64
	day       day       // the period day of the lines in f
	next      time.Time // next rotation by time; zero when not daily
	nextClean time.Time // next daily cleanup; zero when there is nothing to clean

	jobs    atomic.Uint32 // pending background jobs (jobCompress | jobDelete | jobRotated)
	rotated []string      // rotated files for Options.Rotated (guarded by mu)
	kick    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once
}

var _ io.Writer = (*Writer)(nil)

// Open opens (appends to) o.Path, creating it and its directory, and starts the background
// goroutines the options need.
func Open(o Options) (*Writer, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return nil, fmt.Errorf("log file %s: %w", o.Path, err)
	}
	f, size, mtime, err := openAppend(o.Path)
	if err != nil {
		return nil, err
	}
	w := &Writer{o: o, names: splitPath(o.Path), log: o.Logger, f: f, size: size,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	now := o.Now()
	since := now
	if size > 0 { // lines from before: their period is the file's last write
		since = mtime.In(now.Location())
	}
	w.day = periodDay(since, o.RotateAt)
	if o.RotateDaily {
		w.next = nextAt(since, o.RotateAt)
	}
	if o.KeepDays > 0 || o.Compress {
		w.nextClean = nextAt(now, o.DeleteAt)
	}
	if !w.next.IsZero() || !w.nextClean.IsZero() {
		w.wg.Add(2)
		go w.worker()
		go w.timer()
	}
	return w, nil
}

// openAppend opens path for appending and returns its size and modification time.
func openAppend(path string) (*os.File, int64, time.Time, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, time.Time{}, fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, time.Time{}, fmt.Errorf("stat log file: %w", err)
	}
	return f, st.Size(), st.ModTime(), nil
}

// Write appends p, rotating first when the rotate time has passed or p would take the file
// past RotateSize. p must hold whole lines.
func (w *Writer) Write(p []byte) (int, error) {
	var now time.Time
	if w.o.RotateDaily || w.o.RotateSize > 0 {
		now = w.o.Now()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, ErrClosed
	}
	if !w.next.IsZero() && !now.Before(w.next) {
		w.rotateLocked(now, true)
	}
	if w.o.RotateSize > 0 && w.size > 0 && w.size+int64(len(p)) > w.o.RotateSize {
		w.rotateLocked(now, false)
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write log file: %w", err)
	}
	return n, nil
}

// Reopen closes the file and opens Options.Path again, between two writes: after an external
// rename (logrotate's mv), lines go to a new file at the path. On failure the old file stays.
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return ErrClosed
	}
	f, size, _, err := openAppend(w.o.Path)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f, w.size = f, size
	return nil
}

// Close closes the file and waits for the background goroutines, which finish pending
// compression and deletion first. Later writes fail with ErrClosed.
func (w *Writer) Close() error {
	var err error
	w.closing.Do(func() {
		w.mu.Lock()
		err = w.f.Close()
		w.f = nil
		w.mu.Unlock()
		close(w.done)
		w.wg.Wait()
	})
	return err
}

// rotateLocked renames the live file to its dated name and opens a fresh one. byTime means the
// rotate time passed: the file is named by the period that ended and a new period begins.
// Failures are logged; writing goes on to the old file.
func (w *Writer) rotateLocked(now time.Time, byTime bool) {
	d := periodDay(now, w.o.RotateAt)
	if byTime {
		d, w.day, w.next = w.day, d, nextAt(now, w.o.RotateAt)
	}
	if w.size == 0 {
		return
	}
	name := w.freeName(d)
	if err := os.Rename(w.o.Path, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.log.Error("log file: rotate: rename failed, writing on", "path", w.o.Path, "to", name, "err", err)
		return
	}
	f, size, _, err := openAppend(w.o.Path)
	if err != nil {
		w.log.Error("log file: rotate: reopen failed, writing on to the old file", "path", w.o.Path, "err", err)
		if err := os.Rename(name, w.o.Path); err != nil {
			w.log.Error("log file: rotate: cannot rename back", "from", name, "path", w.o.Path, "err", err)
		}
		return
	}
	w.f.Close()
	w.f, w.size = f, size
	if w.o.Rotated != nil {
		w.rotated = append(w.rotated, name)
		w.queue(jobRotated)
	}
	if w.o.Compress {
		w.queue(jobCompress)
	}
}

// freeName returns the first rotated name of d that neither exists nor exists gzipped.
func (w *Writer) freeName(d day) string {
	for n := 0; ; n++ {
		p := w.names.rotated(d, n)
		if !exists(p) && !exists(p+".gz") {
			return p
		}
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
