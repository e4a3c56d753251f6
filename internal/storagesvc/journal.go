package storagesvc

import (
	"fmt"
	"io"

	"github.com/depotfs/depot/internal/fileid"
)

// Change is one successful change to a stored file, as the binlog records it.
type Change struct {
	// Op is the binlog op letter: 'C' upload, 'D' delete, 'U' metadata (Meta set),
	// 'A' append and 'M' modify (A = offset, B = length), 'T' truncate (A = old size,
	// B = new size), 'R' an appender renamed to ID as a normal file (Old: its old name).
	Op   byte
	ID   fileid.ID
	Old  fileid.ID
	Meta bool
	A, B int64
}

// Journal records changes durably (the binlog). Record is called after a change succeeded
// and before the client gets its answer; an error fails the call (the change stays on disk).
// It must be safe for concurrent use.
type Journal interface {
	Record(Change) error
}

// journal records c when a journal is configured.
func (s *Service) journal(c Change) error {
	if s.jr == nil {
		return nil
	}
	if err := s.jr.Record(c); err != nil {
		return fmt.Errorf("binlog %c %s: %w", c.Op, c.ID, err)
	}
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
