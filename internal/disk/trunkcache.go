package disk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// ErrNotCached is returned by TrunkCache.Open for an ID it does not serve (not a trunk
// slice, or a link slot): the caller uses Store.Open instead.
var ErrNotCached = errors.New("disk: not served from the trunk cache")

// TrunkCache keeps trunk files open across requests so that reading a small trunk slice costs
// two positional reads (header check, body) instead of open, fcntl, read, seek, read and
// close. The descriptors are shared: a File from Open must be read with ReadAt only (its file
// position is nobody's) and must not be closed; Release it instead.
//
// Depot writes trunk files only in place (a slot's header and bytes, never a rename or a
// truncation), and every Open still checks the slot header against the ID, so a deleted slice
// is not found at once. A trunk file replaced behind Depot's back (restored from a backup) is
// picked up when its entry expires: entries are reopened after the TTL, and at once when the
// header check fails on a cached descriptor.
type TrunkCache struct {
	s   *Store
	ttl time.Duration
	max int

	mu    sync.Mutex
	files map[trunkKey]*trunkEntry
}

// trunkKey names one trunk file: store path, the XX/YY directory and the trunk file number.
type trunkKey struct {
	path int
	dir  [6]byte
	file uint32
}

// trunkEntry is one open trunk file; it is closed when it has left the map and the last
// reader has released it.
type trunkEntry struct {
	f      *os.File
	opened time.Time
	refs   int // the map's (while in it) and each reader's
}

// TrunkHandle is what Release needs; the zero value releases nothing.
type TrunkHandle struct {
	c *TrunkCache
	e *trunkEntry
}

// NewTrunkCache returns a cache over s keeping up to max trunk files open (0 = 256), each for
// at most ttl (0 = 1s) before it is reopened.
func NewTrunkCache(s *Store, ttl time.Duration, max int) *TrunkCache {
	if ttl <= 0 {
		ttl = time.Second
	}
	if max <= 0 {
		max = 256
	}
	return &TrunkCache{s: s, ttl: ttl, max: max, files: make(map[trunkKey]*trunkEntry)}
}

// Open returns the trunk slice named by id, read from a cached descriptor: read it with
// F.ReadAt at Offset.. Offset+Size, then call Release on the handle. ErrNotCached means
// "use Store.Open"; ErrNotFound means the slice is not there (as Store.Open says it).
func (c *TrunkCache) Open(id fileid.ID) (File, TrunkHandle, error) {
	slot, ok := id.Trunk()
	if !ok {
		return File{}, TrunkHandle{}, ErrNotCached
	}
	p, ok := c.s.pathOf(id.StorePath())
	if !ok || !id.Valid() {
		return File{}, TrunkHandle{}, fmt.Errorf("disk: open %s: store path %d: %w", id, id.StorePath(), ErrNotFound)
	}
	k := trunkKey{path: id.StorePath(), file: slot.File}
	copy(k.dir[:], id.RelPath())
	for fresh := false; ; fresh = true {
		e, err := c.acquire(k, p, id, slot, fresh)
		if err != nil {
			return File{}, TrunkHandle{}, openErr(id, err)
		}
		h := TrunkHandle{c: c, e: e}
		typ, err := readTrunkHeader(e.f, id, slot)
		if err == nil && typ != trunkLink {
			size, _ := id.Size()
			return File{F: e.f, Offset: int64(slot.Offset) + trunkHeaderSize, Size: size, ModTime: id.Created()}, h, nil
		}
		h.Release()
		switch {
		case err == nil: // a link slot: Store.Open follows it
			return File{}, TrunkHandle{}, ErrNotCached
		case !fresh: // maybe a stale descriptor: once more on a freshly opened one
			continue
		}
		return File{}, TrunkHandle{}, fmt.Errorf("disk: open %s: %w: %w", id, ErrNotFound, err)
	}
}

// acquire returns the entry for k with a reference taken, opening the file when there is no
// entry, it has expired, or fresh is set.
func (c *TrunkCache) acquire(k trunkKey, p *storePath, id fileid.ID, slot fileid.TrunkSlot, fresh bool) (*trunkEntry, error) {
	now := time.Now()
	c.mu.Lock()
	if e := c.files[k]; e != nil {
		if !fresh && now.Sub(e.opened) < c.ttl {
			e.refs++
			c.mu.Unlock()
			return e, nil
		}
		c.dropLocked(k, e)
	}
	c.mu.Unlock()

	nameZ := trunkPath(p, id, slot) + "\x00"
	fd, err := openRead(nameZ)
	if err != nil {
		return nil, err
	}
	e := &trunkEntry{f: os.NewFile(uintptr(fd), nameZ[:len(nameZ)-1]), opened: now, refs: 2} // the map's and the caller's
	c.mu.Lock()
	if old := c.files[k]; old != nil {
		c.dropLocked(k, old)
	}
	if len(c.files) >= c.max {
		for ok, oe := range c.files { // any one: the map's order is random enough
			c.dropLocked(ok, oe)
			break
		}
	}
	c.files[k] = e
	c.mu.Unlock()
	return e, nil
}

// dropLocked removes e from the map and closes it unless a reader still holds it.
func (c *TrunkCache) dropLocked(k trunkKey, e *trunkEntry) {
	delete(c.files, k)
	e.refs--
	if e.refs == 0 {
		e.f.Close()
	}
}

// Release gives back the reference taken by Open.
func (h TrunkHandle) Release() {
	if h.e == nil {
		return
	}
	h.c.mu.Lock()
	h.e.refs--
	if h.e.refs == 0 {
		h.e.f.Close()
	}
	h.c.mu.Unlock()
}

// Close closes every cached descriptor not in use (those in use close on their last Release).
func (c *TrunkCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.files {
		c.dropLocked(k, e)
	}
	return nil
}
