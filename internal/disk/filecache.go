package disk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// ErrNotCached is returned by FileCache.Open for an ID it does not serve (not a normal file
// or trunk slice, or a link slot): the caller uses Store.Open instead.
var ErrNotCached = errors.New("disk: not served from the file cache")

// FileCache keeps stored files open across requests so that reading a small one costs two
// system calls instead of open, fstat, fcntl, read, (seek,) and close: for a trunk slice a
// pread of its header (checked against the ID, as Store.Open does) and one of its bytes; for a
// normal file an fstat (see below) and a pread. The descriptors are shared: a File from Open
// must be read with ReadAt only (its file position is nobody's) and must not be closed;
// Release its handle instead.
//
// Validity. A normal file's entry is checked on every Open with fstat(2): a deleted file, and
// a file replaced by a rename onto its name, has lost its link (st_nlink changed, 0), so the
// next Open reopens the name and sees the new file or ErrNotFound. Normal files are never
// written in place. Trunk files are written only in place (a slot's header and bytes; Depot
// never renames or truncates one), and the slot header check makes a deleted slice not found
// at once. A trunk file replaced behind Depot's back (restored from a backup) is picked up when
// its entry expires (the TTL), and at once when the header check fails on a cached descriptor.
type FileCache struct {
	s   *Store
	ttl time.Duration
	max int

	mu    sync.Mutex
	files map[cacheKey]*cacheEntry
}

// cacheKey names one file: store path, the XX/YY directory and the trunk file number, or for
// a normal file its path under data/.
type cacheKey struct {
	path int
	dir  [6]byte
	file uint32
	name string
}

// cacheEntry is one open file; it is closed when it has left the map and the last reader has
// released it.
type cacheEntry struct {
	f      *os.File
	fd     int
	nlink  uint64 // links when opened (normal files)
	size   int64  // bytes when opened (trunk slots are checked against it)
	opened time.Time
	refs   int // the map's (while in it) and each reader's
}

// FileHandle is what Release needs; the zero value releases nothing.
type FileHandle struct {
	c *FileCache
	e *cacheEntry
}

// NewFileCache returns a cache over s keeping up to max files open (0 = 256), each for at
// most ttl (0 = 1s) before it is reopened.
func NewFileCache(s *Store, ttl time.Duration, max int) *FileCache {
	if ttl <= 0 {
		ttl = time.Second
	}
	if max <= 0 {
		max = 256
	}
	return &FileCache{s: s, ttl: ttl, max: max, files: make(map[cacheKey]*cacheEntry)}
}

// Open returns the normal file or trunk slice named by id, read from a cached descriptor:
// read it with F.ReadAt at Offset .. Offset+Size, then call Release on the handle.
// ErrNotCached means "use Store.Open"; ErrNotFound means the file is not there (as Store.Open
// says it).
func (c *FileCache) Open(id fileid.ID) (File, FileHandle, error) {
	slot, trunk := id.Trunk()
	if !trunk && id.Kind() != fileid.Normal {
		return File{}, FileHandle{}, ErrNotCached
	}
	p, ok := c.s.pathOf(id.StorePath())
	if !ok || !id.Valid() {
		return File{}, FileHandle{}, fmt.Errorf("disk: open %s: store path %d: %w", id, id.StorePath(), ErrNotFound)
	}
	k := cacheKey{path: id.StorePath()}
	if trunk {
		k.file = slot.File
		copy(k.dir[:], id.RelPath())
	} else {
		k.name = id.RelPath()
	}
	for fresh := false; ; fresh = true {
		e, err := c.acquire(k, p, id, slot, fresh)
		if err != nil {
			return File{}, FileHandle{}, openErr(id, err)
		}
		h := FileHandle{c: c, e: e}
		if !trunk {
			var st syscall.Stat_t
			if err := syscall.Fstat(e.fd, &st); err != nil {
				h.Release()
				return File{}, FileHandle{}, openErr(id, &os.PathError{Op: "fstat", Path: e.f.Name(), Err: err})
			}
			if uint64(st.Nlink) == e.nlink {
				return File{F: e.f, Size: st.Size, ModTime: id.Created()}, h, nil
			}
			h.Release()
			if fresh { // still changing under us
				return File{}, FileHandle{}, ErrNotCached
			}
			continue
		}
		typ, err := readTrunkHeader(e.f, id, slot)
		size, _ := id.Size()
		if err == nil {
			err = slotEndCheck(id, slot, size, e.size) // a grown trunk file: fresh descriptor below
		}
		if err == nil && typ != trunkLink {
			return File{F: e.f, Offset: int64(slot.Offset) + trunkHeaderSize, Size: size, ModTime: id.Created()}, h, nil
		}
		h.Release()
		switch {
		case err == nil: // a link slot: Store.Open follows it
			return File{}, FileHandle{}, ErrNotCached
		case !fresh: // maybe a stale descriptor: once more on a freshly opened one
			continue
		}
		return File{}, FileHandle{}, fmt.Errorf("disk: open %s: %w: %w", id, ErrNotFound, err)
	}
}

// acquire returns the entry for k with a reference taken, opening the file when there is no
// entry, it has expired, or fresh is set.
func (c *FileCache) acquire(k cacheKey, p *storePath, id fileid.ID, slot fileid.TrunkSlot, fresh bool) (*cacheEntry, error) {
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

	var nameZ string
	if k.name != "" {
		nameZ = p.data + k.name + "\x00"
	} else {
		nameZ = trunkPath(p, id, slot) + "\x00"
	}
	name := nameZ[:len(nameZ)-1]
	fd, err := openRead(nameZ)
	if err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
	}
	e := &cacheEntry{f: os.NewFile(uintptr(fd), name), fd: fd, nlink: uint64(st.Nlink), size: st.Size, opened: now, refs: 2} // the map's and the caller's
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
func (c *FileCache) dropLocked(k cacheKey, e *cacheEntry) {
	delete(c.files, k)
	e.refs--
	if e.refs == 0 {
		e.f.Close()
	}
}

// Release gives back the reference taken by Open.
func (h FileHandle) Release() {
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
func (c *FileCache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.files {
		c.dropLocked(k, e)
	}
	return nil
}
