package trunk

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/google/btree"
)

// Errors of the allocator. Every returned error wraps one of these with the slot it was about.
var (
	ErrNoSpace   = errors.New("trunk: no free slot and no trunk file could be created")
	ErrNotServer = errors.New("trunk: this storage is not the group's trunk server")
	ErrStale     = errors.New("trunk: allocation generation superseded")
	ErrUnknown   = errors.New("trunk: slot not known as allocated")
	ErrInvalid   = errors.New("trunk: invalid request")
)

// FileIDSpan is how many trunk file ids one allocation epoch owns: epoch e creates trunk
// files e*FileIDSpan+1, e*FileIDSpan+2, ... so two trunk servers of different epochs never
// create the same trunk file.
const FileIDSpan = 1 << 20

// Loc locates a slot: the store path, the data/XX/YY directory and id of its trunk file, its
// offset and its allocated size (header included).
type Loc struct {
	Path       uint8
	Dir1, Dir2 uint8
	File       uint32
	Offset     uint32
	Size       uint32
}

func (l Loc) String() string {
	return fmt.Sprintf("M%02X/%02X/%02X/%06d@%d+%d", l.Path, l.Dir1, l.Dir2, l.File, l.Offset, l.Size)
}

// Disk creates and removes trunk files for the allocator. Both are called with the
// allocator's lock held and must be durable when they return.
type Disk interface {
	// CreateFile creates data/XX/YY/<id> of size bytes (sparse) on store path path; an
	// existing file is an error.
	CreateFile(path, dir1, dir2 uint8, id, size uint32) error
	// RemoveFile removes an unused trunk file.
	RemoveFile(path, dir1, dir2 uint8, id uint32) error
}

// Options configure an Allocator.
type Options struct {
	Params Params
	Disk   Disk
	// SubdirCount is subdir_count_per_path: new trunk files go to data/XX/YY below it.
	SubdirCount int
	// Epoch is the allocation epoch the tracker leader gave this trunk server; new trunk
	// files get ids from Epoch*FileIDSpan+1.
	Epoch  uint32
	Logger *slog.Logger
}

type fileKey struct {
	path uint8
	id   uint32
}

// used is an allocated slot; hdr is its header when known (confirmed or scanned).
type used struct {
	size    uint32
	hdr     Header
	known   bool
	pending bool // handed out, not confirmed yet
}

type tfile struct {
	key      fileKey
	d1, d2   uint8
	size     uint32
	used     map[uint32]*used  // offset → slot
	free     map[uint32]uint32 // start → length
	freeEnd  map[uint32]uint32 // end → start
	reusable bool              // free extents are in the allocator's tree
	ours     bool              // created by this allocator: every slot in it is known
}

// extent is a free extent in the tree, ordered by path, size, file, offset (best fit).
type extent struct {
	path uint8
	size uint32
	file uint32
	off  uint32
}

func extentLess(a, b extent) bool {
	if a.path != b.path {
		return a.path < b.path
	}
	if a.size != b.size {
		return a.size < b.size
	}
	if a.file != b.file {
		return a.file < b.file
	}
	return a.off < b.off
}

// Allocator hands out slots of trunk files and takes them back: one per group, on the trunk
// server. Safe for concurrent use.
type Allocator struct {
	o   Options
	log *slog.Logger

	mu     sync.Mutex
	files  map[fileKey]*tfile
	tree   *btree.BTreeG[extent]
	nextID uint32
}

// New returns an empty allocator: it knows no trunk file until Load or its first Alloc.
func New(o Options) (*Allocator, error) {
	if err := o.Params.Validate(); err != nil {
		return nil, err
	}
	if o.Disk == nil {
		return nil, fmt.Errorf("%w: no Disk", ErrInvalid)
	}
	if o.SubdirCount <= 0 || o.SubdirCount > 256 {
		o.SubdirCount = 256
	}
	if o.Epoch >= 1<<32/FileIDSpan {
		return nil, fmt.Errorf("%w: epoch %d past %d", ErrInvalid, o.Epoch, 1<<32/FileIDSpan-1)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Allocator{
		o: o, log: log, files: map[fileKey]*tfile{}, tree: btree.NewG(32, extentLess),
		nextID: o.Epoch*FileIDSpan + 1,
	}, nil
}

// Alloc hands out a slot for a file of size bytes on store path path: the smallest free
// extent that holds SlotSize(size) (split when the rest is at least slot_min_size), else a
// new trunk file. The slot stays pending until Confirm (or Release).
func (a *Allocator) Alloc(path uint8, size int64) (Loc, error) {
	if !a.o.Params.Fits(size) {
		return Loc{}, fmt.Errorf("%w: a file of %d bytes does not fit slot_max_size %d", ErrInvalid, size, a.o.Params.SlotMaxSize)
	}
	need := a.o.Params.SlotSize(size)
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.bestFit(path, need)
	if !ok {
		f, err := a.createFile(path)
		if err != nil {
			return Loc{}, err
		}
		e = extent{path: path, size: f.size, file: f.key.id, off: 0}
	}
	f := a.files[fileKey{path, e.file}]
	a.takeFree(f, e.off, e.size)
	give := e.size
	if e.size-need >= a.o.Params.SlotMinSize {
		give = need
		a.addFree(f, e.off+need, e.size-need, false)
	}
	f.used[e.off] = &used{size: give, pending: true}
	return Loc{Path: path, Dir1: f.d1, Dir2: f.d2, File: e.file, Offset: e.off, Size: give}, nil
}

// bestFit returns the smallest free extent of path at least need bytes long.
func (a *Allocator) bestFit(path uint8, need uint32) (extent, bool) {
	var got extent
	found := false
	a.tree.AscendGreaterOrEqual(extent{path: path, size: need}, func(e extent) bool {
		if e.path == path {
			got, found = e, true
		}
		return false
	})
	return got, found
}

// Confirm records the header written to a pending slot: from then on a delete of that file
// (Free with the same header) gives the slot back.
func (a *Allocator) Confirm(l Loc, h Header) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.usedAt(l)
	if err != nil {
		return err
	}
	if h.Alloc != l.Size {
		return fmt.Errorf("%w: confirm %s with a header for %d bytes", ErrInvalid, l, h.Alloc)
	}
	u.hdr, u.known, u.pending = h, true, false
	return nil
}

// Release gives back a pending slot whose upload failed before its header was written.
func (a *Allocator) Release(l Loc) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.usedAt(l)
	if err != nil {
		return err
	}
	if !u.pending {
		return fmt.Errorf("%w: release of %s, which is confirmed", ErrInvalid, l)
	}
	a.release(a.files[fileKey{l.Path, l.File}], l.Offset)
	return nil
}

// Free gives back the slot of a deleted file whose header was h. A slot whose header is not
// known to be h (another file lives there now, or it was never confirmed) is left alone:
// space may leak until the next rebuild, but a slot is never handed out twice.
func (a *Allocator) Free(l Loc, h Header) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, err := a.usedAt(l)
	if err != nil {
		return err
	}
	h.Type = u.hdr.Type
	if !u.known || u.hdr != h {
		return fmt.Errorf("%w: free of %s: the slot holds another file or an unconfirmed one", ErrUnknown, l)
	}
	a.release(a.files[fileKey{l.Path, l.File}], l.Offset)
	return nil
}

func (a *Allocator) usedAt(l Loc) (*used, error) {
	f := a.files[fileKey{l.Path, l.File}]
	if f == nil {
		return nil, fmt.Errorf("%w: %s: no such trunk file", ErrUnknown, l)
	}
	u := f.used[l.Offset]
	if u == nil || u.size != l.Size {
		return nil, fmt.Errorf("%w: %s", ErrUnknown, l)
	}
	return u, nil
}

// release turns the used slot at off back into free space, merging it with its free
// neighbours under trunk_free_space_merge, and removes the trunk file when it is empty and
// delete_unused_trunk_files is on.
func (a *Allocator) release(f *tfile, off uint32) {
	u := f.used[off]
	delete(f.used, off)
	a.addFree(f, off, u.size, a.o.Params.Merge)
	if len(f.used) == 0 && a.o.Params.DeleteUnused && f.reusable && f.key.id != a.nextID-1 {
		a.removeFile(f)
	}
}

// addFree adds [off, off+n) to f's free space, merged with adjacent extents when merge.
func (a *Allocator) addFree(f *tfile, off, n uint32, merge bool) {
	if merge {
		if start, ok := f.freeEnd[off]; ok {
			ln := f.free[start]
			a.takeFree(f, start, ln)
			off, n = start, n+ln
		}
		if ln, ok := f.free[off+n]; ok {
			a.takeFree(f, off+n, ln)
			n += ln
		}
	}
	f.free[off] = n
	f.freeEnd[off+n] = off
	if f.reusable {
		a.tree.ReplaceOrInsert(extent{path: f.key.path, size: n, file: f.key.id, off: off})
	}
}

// takeFree removes the free extent [off, off+n) of f.
func (a *Allocator) takeFree(f *tfile, off, n uint32) {
	delete(f.free, off)
	delete(f.freeEnd, off+n)
	a.tree.Delete(extent{path: f.key.path, size: n, file: f.key.id, off: off})
}

// createFile creates the next trunk file of this epoch on path.
func (a *Allocator) createFile(path uint8) (*tfile, error) {
	if a.nextID >= (a.o.Epoch+1)*FileIDSpan {
		return nil, fmt.Errorf("%w: epoch %d used all its %d trunk file ids", ErrNoSpace, a.o.Epoch, FileIDSpan)
	}
	id := a.nextID
	n := uint32(a.o.SubdirCount)
	d1, d2 := uint8((id>>8)%n), uint8(id%n)
	if err := a.o.Disk.CreateFile(path, d1, d2, id, a.o.Params.FileSize); err != nil {
		return nil, fmt.Errorf("%w: create trunk file %06d on path %d: %w", ErrNoSpace, id, path, err)
	}
	a.nextID++
	f := a.newFile(fileKey{path, id}, d1, d2, a.o.Params.FileSize)
	f.reusable, f.ours = true, true
	a.files[f.key] = f
	a.addFree(f, 0, f.size, false)
	a.log.Info("trunk file created", "path", path, "file", fmt.Sprintf("%02X/%02X/%06d", d1, d2, id), "size", f.size)
	return f, nil
}

func (a *Allocator) newFile(k fileKey, d1, d2 uint8, size uint32) *tfile {
	return &tfile{key: k, d1: d1, d2: d2, size: size, used: map[uint32]*used{}, free: map[uint32]uint32{}, freeEnd: map[uint32]uint32{}}
}

// removeFile deletes an empty trunk file (delete_unused_trunk_files).
func (a *Allocator) removeFile(f *tfile) {
	if err := a.o.Disk.RemoveFile(f.key.path, f.d1, f.d2, f.key.id); err != nil {
		a.log.Warn("removing an unused trunk file", "file", f.key.id, "err", err)
		return
	}
	for off, n := range f.free {
		a.takeFree(f, off, n)
	}
	delete(a.files, f.key)
	a.log.Info("unused trunk file removed", "path", f.key.path, "file", fmt.Sprintf("%02X/%02X/%06d", f.d1, f.d2, f.key.id))
}

// Stats describes the allocator's trunk files.
type Stats struct {
	Files     int    // trunk files known
	FileBytes uint64 // their total size
	FreeBytes uint64 // free space that may be handed out
	Used      int    // allocated slots
	Pending   int    // slots handed out, not confirmed
	Unusable  int    // trunk files whose free space is not handed out (rebuild incomplete)
}

// Stats returns the allocator's counts.
func (a *Allocator) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s Stats
	for _, f := range a.files {
		s.Files++
		s.FileBytes += uint64(f.size)
		s.Used += len(f.used)
		for _, u := range f.used {
			if u.pending {
				s.Pending++
			}
		}
		if !f.reusable {
			s.Unusable++
			continue
		}
		for _, n := range f.free {
			s.FreeBytes += uint64(n)
		}
	}
	return s
}

// freeOn is the free space of path that may be handed out; the caller holds a.mu.
func (a *Allocator) freeOn(path uint8) uint64 {
	var n uint64
	for _, f := range a.files {
		if f.key.path == path && f.reusable {
			for _, ln := range f.free {
				n += uint64(ln)
			}
		}
	}
	return n
}

// CreateAhead creates trunk files on path until its free space reaches
// trunk_create_file_space_threshold (trunk_create_file_advance). It returns how many it made.
func (a *Allocator) CreateAhead(path uint8) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	made := 0
	for int64(a.freeOn(path)) < a.o.Params.CreateSpace {
		if _, err := a.createFile(path); err != nil {
			return made, err
		}
		made++
	}
	return made, nil
}

// Files lists the trunk files known, sorted (tests and the monitor).
func (a *Allocator) Files() []Loc {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Loc, 0, len(a.files))
	for _, f := range a.files {
		out = append(out, Loc{Path: f.key.path, Dir1: f.d1, Dir2: f.d2, File: f.key.id, Size: f.size})
	}
	slices.SortFunc(out, func(x, y Loc) int {
		if x.Path != y.Path {
			return int(x.Path) - int(y.Path)
		}
		return int(int64(x.File) - int64(y.File))
	})
	return out
}
