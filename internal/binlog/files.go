package binlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Position is a place in the binlog: a file index and a byte offset in it.
type Position struct {
	Index  int
	Offset int64
}

// Before reports whether p comes before q.
func (p Position) Before(q Position) bool {
	return p.Index < q.Index || p.Index == q.Index && p.Offset < q.Offset
}

const indexFile = "binlog_index.dat"

// fileName is the name of binlog file i: binlog.000 … binlog.999, then more digits.
func fileName(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("binlog.%03d", i))
}

// readIndex returns current_write of dir's index file (0 when there is none).
func readIndex(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("binlog: %w", err)
	}
	kv := parseINI(b)
	n, err := strconv.Atoi(kv["current_write"])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %s: current_write %q", ErrBadRecord, indexFile, kv["current_write"])
	}
	return n, nil
}

func writeIndex(dir string, n int) error {
	return writeFileAtomic(filepath.Join(dir, indexFile), fmt.Appendf(nil, "current_write=%d\ncurrent_compress=0\n", n))
}

// parseINI reads "key=value" lines; other lines are ignored.
func parseINI(b []byte) map[string]string {
	kv := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return kv
}

// writeFileAtomic writes b to a temp file next to path, fsyncs it, renames it over path and
// fsyncs the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("binlog: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("binlog: write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("binlog: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("binlog: fsync %s: %w", dir, err)
	}
	return nil
}

// cutTornTail truncates f after its last newline and returns the resulting size.
func cutTornTail(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	// Search backwards in blocks for the last newline.
	const block = 64 << 10
	end := size
	for end > 0 {
		start := max(0, end-block)
		buf := make([]byte, end-start)
		if _, err := f.ReadAt(buf, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			keep := start + int64(i) + 1
			if keep == size {
				return size, nil
			}
			return keep, truncSync(f, keep)
		}
		end = start
	}
	return 0, truncSync(f, 0)
}

func truncSync(f *os.File, n int64) error {
	if err := f.Truncate(n); err != nil {
		return err
	}
	return f.Sync()
}
