package disk

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"sync"

	"github.com/depotfs/depot/internal/fileid"
	"golang.org/x/sys/unix"
)

// TrunkLoc is where a trunk slot lives: a store path, the data/XX/YY directory of its trunk
// file and the slot in it.
type TrunkLoc struct {
	Path       int
	Dir1, Dir2 uint8
	Slot       fileid.TrunkSlot
}

// PickPath chooses the store path for an upload of size bytes (index -1: the store's
// choice), as Upload does.
func (s *Store) PickPath(index int, size int64) (int, error) {
	p, err := s.choosePath(index, size)
	if err != nil {
		return 0, err
	}
	return p.index, nil
}

// SubdirCount is the store's subdir_count_per_path.
func (s *Store) SubdirCount() int { return s.o.SubdirCount }

// DataDirs returns the "data" directory of every store path, by index.
func (s *Store) DataDirs() []string {
	out := make([]string, len(s.paths))
	for i := range s.paths {
		out[i] = s.paths[i].data
	}
	return out
}

// trunkFileName is data/XX/YY/<%06d id> of store path p.
func trunkFileName(p *storePath, d1, d2 uint8, id uint32) string {
	num := strconv.FormatUint(uint64(id), 10)
	for len(num) < 6 {
		num = "0" + num
	}
	return p.data + subdirName(int(d1)) + "/" + subdirName(int(d2)) + "/" + num
}

// CreateTrunkFile creates an empty (sparse) trunk file of size bytes and makes its name
// durable. An existing file is ErrExists.
func (s *Store) CreateTrunkFile(path int, d1, d2 uint8, id, size uint32) error {
	p, ok := s.pathOf(path)
	if !ok || p.readOnly {
		return fmt.Errorf("disk: create trunk file %06d: store path %d: %w", id, path, ErrReadOnly)
	}
	name := trunkFileName(p, d1, d2, id)
	dir := name[:len(p.data)+6]
	if err := ensureDir(dir); err != nil {
		return fmt.Errorf("disk: create trunk file %s: %w", name, osErr(err))
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("disk: create trunk file %s: %w", name, ErrExists)
		}
		return fmt.Errorf("disk: create trunk file %s: %w", name, osErr(err))
	}
	err = f.Truncate(int64(size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("disk: create trunk file %s: %w", name, osErr(err))
	}
	return nil
}

// RemoveTrunkFile removes a trunk file none of whose slots is in use.
func (s *Store) RemoveTrunkFile(path int, d1, d2 uint8, id uint32) error {
	p, ok := s.pathOf(path)
	if !ok || p.readOnly {
		return fmt.Errorf("disk: remove trunk file %06d: store path %d: %w", id, path, ErrReadOnly)
	}
	name := trunkFileName(p, d1, d2, id)
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("disk: remove trunk file %s: %w", name, osErr(err))
	}
	return syncDir(name[:len(p.data)+6])
}

// WriteTrunk stores data as a new trunk file in the slot at l and returns its ID. The
// bytes go after the slot's header and are fsynced first; then the 24-byte header is
// written and fsynced: a crash leaves either a valid slot or one whose header does not
// match any name (never served). beforeCommit, when set, is called with the ID before the
// header is written; an error aborts. The caller owns the slot (it was allocated for it).
func (s *Store) WriteTrunk(l TrunkLoc, data []byte, ext string, beforeCommit func(fileid.ID) error) (fileid.ID, error) {
	if err := checkExt(ext); err != nil {
		return fileid.ID{}, err
	}
	if uint64(len(data))+trunkHeaderSize > uint64(l.Slot.Size) {
		return fileid.ID{}, fmt.Errorf("disk: %d bytes do not fit the trunk slot of %d: %w", len(data), l.Slot.Size, ErrInvalid)
	}
	slot := l.Slot
	id, err := fileid.New(fileid.NewParams{
		Group: s.o.Group, Path: l.Path, Dir1: l.Dir1, Dir2: l.Dir2, Source: s.o.Source,
		Created: s.o.Now().Unix(), Size: int64(len(data)), CRC32: crc32.ChecksumIEEE(data), Ext: ext,
		Trunk: &slot, Rand: s.rand,
	})
	if err != nil {
		return fileid.ID{}, fmt.Errorf("disk: trunk upload to %+v: %w: %w", l, ErrInvalid, err)
	}
	if beforeCommit != nil {
		if err := beforeCommit(id); err != nil {
			return fileid.ID{}, fmt.Errorf("disk: trunk upload %s: %w", id, err)
		}
	}
	if err := s.writeSlot(id, data); err != nil {
		return fileid.ID{}, err
	}
	return id, nil
}

// writeSlot writes the bytes of trunk file id into its slot, then its header (each fsynced).
func (s *Store) writeSlot(id fileid.ID, data []byte) error {
	slot, _ := id.Trunk()
	p, err := s.writablePath("trunk write", id)
	if err != nil {
		return err
	}
	name := trunkPath(p, id, slot)
	if err := ensureDir(name[:len(p.data)+6]); err != nil {
		return fmt.Errorf("disk: trunk write %s: %w", id, osErr(err))
	}
	mu := s.trunkLockFor(name)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("disk: trunk write %s: %w", id, osErr(err))
	}
	defer f.Close()
	if _, err := f.WriteAt(data, int64(slot.Offset)+trunkHeaderSize); err != nil {
		return fmt.Errorf("disk: trunk write %s: %w", id, osErr(err))
	}
	gs := s.groupSyncFor(name)
	if err := gs.sync(f); err != nil {
		return fmt.Errorf("disk: trunk write %s: %w", id, osErr(err))
	}
	h := wantTrunkHeader(id, slot)
	h.Type = trunkRegular
	var hdr [trunkHeaderSize]byte
	h.Encode(hdr[:])
	mu.Lock()
	_, err = f.WriteAt(hdr[:], int64(slot.Offset))
	mu.Unlock()
	if err != nil {
		return fmt.Errorf("disk: trunk write %s: header: %w", id, osErr(err))
	}
	if err := gs.sync(f); err != nil {
		return fmt.Errorf("disk: trunk write %s: header: %w", id, osErr(err))
	}
	return nil
}

// putTrunkReplica writes a trunk file copied from another storage into its slot. A slot
// already holding this file is left as is; a slot holding another live file is ErrSlotBusy
// (its delete has not arrived yet: the sender retries).
func (s *Store) putTrunkReplica(id fileid.ID, r io.Reader, o ReplicaOptions) error {
	slot, _ := id.Trunk()
	n, _ := id.Size()
	if o.Size != n || o.CRC32 != id.CRC32() || uint64(n)+trunkHeaderSize > uint64(slot.Size) {
		return fmt.Errorf("disk: replica %s: size %d crc32 %08x disagree with the ID: %w", id, o.Size, o.CRC32, ErrInvalid)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return fmt.Errorf("disk: replica %s: %w: %w", id, ErrTruncated, err)
	}
	if crc32.ChecksumIEEE(data) != o.CRC32 {
		return fmt.Errorf("disk: replica %s: received bytes with another crc32: %w", id, ErrTruncated)
	}
	p, err := s.writablePath("replica", id)
	if err != nil {
		return err
	}
	if f, err := os.Open(trunkPath(p, id, slot)); err == nil {
		var hdr [trunkHeaderSize]byte
		_, rerr := f.ReadAt(hdr[:], int64(slot.Offset))
		f.Close()
		if rerr == nil {
			if _, cerr := checkTrunkHeader(hdr[:], id, slot); cerr == nil {
				return nil
			}
			if hdr[0] == trunkRegular || hdr[0] == trunkLink {
				return fmt.Errorf("disk: replica %s: %w", id, ErrSlotBusy)
			}
		}
	}
	return s.writeSlot(id, data)
}

// groupSync makes the writes to one trunk file durable with as few fdatasync calls as the
// concurrent writers allow (group commit): a writer whose write finished before a sync
// started needs no sync of its own. fdatasync, not fsync: the bytes (and the size, when a
// write extended the file) must be durable, the mtime need not be.
type groupSync struct {
	mu     sync.Mutex // guards issued
	issued uint64     // writes finished and waiting for durability
	syncMu sync.Mutex // one fdatasync at a time; guards synced
	synced uint64     // writes known durable
}

// sync returns once every write to f finished before the call is durable.
func (g *groupSync) sync(f *os.File) error {
	g.mu.Lock()
	g.issued++
	ticket := g.issued
	g.mu.Unlock()
	g.syncMu.Lock()
	defer g.syncMu.Unlock()
	if g.synced >= ticket {
		return nil
	}
	g.mu.Lock()
	upto := g.issued
	g.mu.Unlock()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return err
	}
	g.synced = upto
	return nil
}

// groupSyncFor returns the group commit of the trunk file at path.
func (s *Store) groupSyncFor(path string) *groupSync {
	if g, ok := s.trunkSyncs.Load(path); ok {
		return g.(*groupSync)
	}
	g, _ := s.trunkSyncs.LoadOrStore(path, &groupSync{})
	return g.(*groupSync)
}
