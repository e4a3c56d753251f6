package binlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Reader reads records from a position on. It never returns a partly written line: at the
// end of the data it returns io.EOF and a later Next sees what was appended since. It is
// not safe for concurrent use.
type Reader struct {
	dir string
	log *slog.Logger
	pos Position
	f   *os.File
	br  *bufio.Reader
	// Skipped counts malformed lines passed over.
	Skipped int
}

// NewReader returns a reader of the binlog in dir starting at pos.
func NewReader(dir string, pos Position, log *slog.Logger) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{dir: dir, pos: pos, log: log}
}

// Pos returns the position after the last record returned.
func (r *Reader) Pos() Position { return r.pos }

// Next returns the next record and the position after it, or io.EOF at the end.
func (r *Reader) Next() (Record, Position, error) {
	for {
		if r.f == nil {
			f, err := os.Open(fileName(r.dir, r.pos.Index))
			if errors.Is(err, os.ErrNotExist) {
				if r.nextExists() {
					r.pos = Position{Index: r.pos.Index + 1}
					continue
				}
				return Record{}, r.pos, io.EOF
			}
			if err != nil {
				return Record{}, r.pos, fmt.Errorf("binlog: %w", err)
			}
			if _, err := f.Seek(r.pos.Offset, io.SeekStart); err != nil {
				f.Close()
				return Record{}, r.pos, fmt.Errorf("binlog: %w", err)
			}
			r.f = f
			if r.br == nil {
				r.br = bufio.NewReaderSize(f, 64<<10)
			} else {
				r.br.Reset(f)
			}
		}
		line, err := r.br.ReadString('\n')
		if err == nil {
			r.pos.Offset += int64(len(line))
			rec, perr := Parse(line)
			if perr != nil {
				r.Skipped++
				r.log.Warn("skipping malformed binlog line", "file", fileName(r.dir, r.pos.Index), "err", perr)
				continue
			}
			return rec, r.pos, nil
		}
		if !errors.Is(err, io.EOF) {
			return Record{}, r.pos, fmt.Errorf("binlog: read %s: %w", fileName(r.dir, r.pos.Index), err)
		}
		// End of the data in this file: a partial line is read again later.
		if r.nextExists() {
			if len(line) > 0 {
				r.Skipped++
				r.log.Warn("skipping torn line at the end of a rotated binlog file", "file", fileName(r.dir, r.pos.Index))
			}
			r.closeFile()
			r.pos = Position{Index: r.pos.Index + 1}
			continue
		}
		r.closeFile()
		return Record{}, r.pos, io.EOF
	}
}

func (r *Reader) nextExists() bool {
	_, err := os.Stat(fileName(r.dir, r.pos.Index+1))
	return err == nil
}

func (r *Reader) closeFile() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// Close releases the open file.
func (r *Reader) Close() error {
	r.closeFile()
	return nil
}

// Remaining returns the bytes between pos and end (an estimate of the lag in bytes).
func Remaining(dir string, pos, end Position) int64 {
	if !pos.Before(end) {
		return 0
	}
	if pos.Index == end.Index {
		return end.Offset - pos.Offset
	}
	var n int64
	for i := pos.Index; i < end.Index; i++ {
		if st, err := os.Stat(fileName(dir, i)); err == nil {
			n += st.Size()
		}
	}
	return n - pos.Offset + end.Offset
}
