package binlog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// DefaultMaxSize is the size at which a binlog file is rotated (FastDFS: 1 GiB).
const DefaultMaxSize = 1 << 30

// Options configure a Writer.
type Options struct {
	Dir     string // the sync directory, e.g. base_path/data/sync
	MaxSize int64  // rotation size; 0 = DefaultMaxSize
	Logger  *slog.Logger
}

// Writer appends records durably. Write returns only once the record is fsynced; writers
// that wait at the same time share one write and one fsync (group commit). Its methods are
// safe for concurrent use.
type Writer struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	f        *os.File
	pos      Position // end of the durable data
	pending  []byte
	seq      uint64 // records queued
	synced   uint64 // records durable
	flushing bool
	err      error // sticky: a failed write leaves the writer broken
	notify   chan struct{}
}

// OpenWriter opens (creating) the binlog in o.Dir and cuts a torn last line.
func OpenWriter(o Options) (*Writer, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("binlog: dir %s: %w", o.Dir, err)
	}
	idx, err := readIndex(o.Dir)
	if err != nil {
		return nil, err
	}
	// A crash between creating the next file and writing the index leaves a newer file.
	for {
		if _, err := os.Stat(fileName(o.Dir, idx+1)); err != nil {
			break
		}
		idx++
	}
	w := &Writer{o: o, log: o.Logger, notify: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	if err := w.openFile(idx); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) openFile(idx int) error {
	name := fileName(w.o.Dir, idx)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("binlog: open %s: %w", name, err)
	}
	size, err := cutTornTail(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("binlog: %s: %w", name, err)
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("binlog: %s: %w", name, err)
	}
	if err := writeIndex(w.o.Dir, idx); err != nil {
		f.Close()
		return err
	}
	w.f, w.pos = f, Position{Index: idx, Offset: size}
	return nil
}

// Dir returns the binlog directory.
func (w *Writer) Dir() string { return w.o.Dir }

// Write appends r and returns once it is durable.
func (w *Writer) Write(r Record) error {
	if err := r.Validate(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.pending = r.appendLine(w.pending)
	w.seq++
	me := w.seq
	for w.synced < me {
		if w.err != nil {
			return w.err
		}
		if w.flushing {
			w.cond.Wait()
			continue
		}
		w.flushLocked()
	}
	return w.err
}

// flushLocked writes and fsyncs everything pending, outside the lock, then rotates when
// the file is full. Called with w.mu held; returns with it held.
func (w *Writer) flushLocked() {
	w.flushing = true
	buf, target, f := w.pending, w.seq, w.f
	w.pending = nil
	w.mu.Unlock()
	_, err := f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	w.mu.Lock()
	w.flushing = false
	if err != nil {
		w.err = fmt.Errorf("binlog: write %s: %w", f.Name(), err)
		w.log.Error("binlog write failed; refusing further changes", "err", err)
	} else {
		w.synced = target
		w.pos.Offset += int64(len(buf))
		if w.pos.Offset >= w.o.MaxSize {
			w.rotateLocked()
		}
		close(w.notify)
		w.notify = make(chan struct{})
	}
	w.cond.Broadcast()
}

func (w *Writer) rotateLocked() {
	old := w.f
	if err := w.openFile(w.pos.Index + 1); err != nil {
		w.err = err
		w.log.Error("binlog rotation failed", "err", err)
		return
	}
	old.Close()
}

// End returns the position after the last durable record.
func (w *Writer) End() Position {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pos
}

// Changed returns a channel closed at the next durable write (or rotation).
func (w *Writer) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.notify
}

// Close waits for pending writes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.flushing {
		w.cond.Wait()
	}
	if w.err == ErrClosed {
		return nil
	}
	w.err = ErrClosed
	w.cond.Broadcast()
	return w.f.Close()
}
