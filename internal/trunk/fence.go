package trunk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// fence keeps a storage from writing slots handed out by a trunk server that has been
// superseded. Writes run under the read lock and check their allocation generation against
// the fence; a scan by a new trunk server takes the write lock, raises the fence and reads
// the slot headers, so every slot of an older generation is either written before the scan
// (and seen by it) or refused.
type fence struct {
	mu   sync.RWMutex
	gen  uint64
	file string // persists gen across restarts ("" = memory only)
}

// load reads the persisted fence.
func (f *fence) load() error {
	if f.file == "" {
		return nil
	}
	n, err := readUint(f.file)
	if err != nil {
		return err
	}
	f.gen = n
	return nil
}

// write runs fn when gen is not below the fence.
func (f *fence) write(gen uint64, fn func() error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if gen < f.gen {
		return fmt.Errorf("%w: slot of generation %#x, fence at %#x", ErrStale, gen, f.gen)
	}
	return fn()
}

// raise sets the fence to gen (refusing a lower one) and runs fn with every write held off.
func (f *fence) raise(gen uint64, fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen < f.gen {
		return fmt.Errorf("%w: scan at generation %#x, fence at %#x", ErrStale, gen, f.gen)
	}
	if gen > f.gen {
		if f.file != "" {
			if err := writeUint(f.file, gen); err != nil {
				return err
			}
		}
		f.gen = gen
	}
	return fn()
}

// readUint reads a decimal number from a small state file (0 when it does not exist).
func readUint(name string) (uint64, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("trunk: read %s: %w", name, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("trunk: %s holds %q: %w", name, b, err)
	}
	return n, nil
}

// writeUint replaces a small state file durably (temp file, fsync, rename, fsync dir).
func writeUint(name string, n uint64) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("trunk: write %s: %w", name, err)
	}
	_, err = f.WriteString(strconv.FormatUint(n, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(filepath.Dir(name)); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("trunk: write %s: %w", name, err)
	}
	return nil
}
