package disk

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"github.com/depotfs/depot/internal/fileid"
)

// A trunk slot starts with a 24-byte header; the file's bytes follow it.
const trunkHeaderSize = 24

// Slot types (header byte 0).
const (
	trunkFree    = 0
	trunkRegular = 'F'
	trunkLink    = 'L' // content is the logical file name of the target
)

// maxLinkTarget bounds the content of a link slot (a remote file name).
const maxLinkTarget = 256

// TrunkHeader is the 24-byte slot header: type, allocated size (header included), file size,
// crc32, mtime and the 7-char formatted extension; integers big-endian. internal/trunk, which
// allocates slots, uses it too.
type TrunkHeader struct {
	Type  byte
	Alloc uint32
	Size  uint32
	CRC32 uint32
	MTime uint32
	Ext   [7]byte
}

// DecodeTrunkHeader reads a header from the first 24 bytes of b (ErrInvalid when shorter).
func DecodeTrunkHeader(b []byte) (TrunkHeader, error) {
	if len(b) < trunkHeaderSize {
		return TrunkHeader{}, fmt.Errorf("disk: trunk header of %d bytes: %w", len(b), ErrInvalid)
	}
	h := TrunkHeader{
		Type:  b[0],
		Alloc: binary.BigEndian.Uint32(b[1:]),
		Size:  binary.BigEndian.Uint32(b[5:]),
		CRC32: binary.BigEndian.Uint32(b[9:]),
		MTime: binary.BigEndian.Uint32(b[13:]),
	}
	copy(h.Ext[:], b[17:24])
	return h, nil
}

// Encode writes h into the first 24 bytes of b.
func (h *TrunkHeader) Encode(b []byte) {
	_ = b[trunkHeaderSize-1]
	b[0] = h.Type
	binary.BigEndian.PutUint32(b[1:], h.Alloc)
	binary.BigEndian.PutUint32(b[5:], h.Size)
	binary.BigEndian.PutUint32(b[9:], h.CRC32)
	binary.BigEndian.PutUint32(b[13:], h.MTime)
	copy(b[17:24], h.Ext[:])
}

// wantTrunkHeader is the header the name of a trunk ID promises.
func wantTrunkHeader(id fileid.ID, slot fileid.TrunkSlot) TrunkHeader {
	size, _ := id.Size()
	h := TrunkHeader{
		Alloc: slot.Size,
		Size:  uint32(size),
		CRC32: id.CRC32(),
		MTime: uint32(id.CreatedUnix()),
	}
	name := id.Name()
	copy(h.Ext[:], name[len(name)-7:])
	return h
}

// checkTrunkHeader verifies a slot header against the ID, as FastDFS does: a regular or link
// slot whose every field equals what the name says. It returns the slot type.
func checkTrunkHeader(b []byte, id fileid.ID, slot fileid.TrunkSlot) (byte, error) {
	h, err := DecodeTrunkHeader(b)
	if err != nil {
		return 0, err
	}
	if h.Type != trunkRegular && h.Type != trunkLink {
		return 0, fmt.Errorf("disk: trunk slot type %#x", h.Type)
	}
	want := wantTrunkHeader(id, slot)
	want.Type = h.Type
	if h != want {
		return 0, fmt.Errorf("disk: trunk slot header %+v does not match the name (%+v)", h, want)
	}
	if uint64(h.Size)+trunkHeaderSize > uint64(h.Alloc) {
		return 0, fmt.Errorf("disk: trunk slot of %d bytes holds %d", h.Alloc, h.Size)
	}
	return h.Type, nil
}

// trunkPath is data/XX/YY/<%06d trunk file id>.
func trunkPath(p *storePath, id fileid.ID, slot fileid.TrunkSlot) string {
	var b [32]byte
	num := strconv.AppendUint(b[:0], uint64(slot.File), 10)
	var pad [6]byte
	n := 0
	for i := len(num); i < 6; i++ {
		pad[n] = '0'
		n++
	}
	return p.data + id.RelPath()[:6] + string(pad[:n]) + string(num)
}

// readTrunkHeader reads and checks the slot header of id in the open trunk file f.
func readTrunkHeader(f *os.File, id fileid.ID, slot fileid.TrunkSlot) (byte, error) {
	var hdr [trunkHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], int64(slot.Offset)); err != nil {
		return 0, fmt.Errorf("disk: read trunk header: %w", err)
	}
	return checkTrunkHeader(hdr[:], id, slot)
}

// freeTrunkSlot marks the slot of id free (type 0) after checking its header, and fsyncs.
func (s *Store) freeTrunkSlot(p *storePath, id fileid.ID, slot fileid.TrunkSlot) error {
	path := trunkPath(p, id, slot)
	mu := s.trunkLockFor(path)
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("disk: delete %s: %w", id, osErr(err))
	}
	defer f.Close()
	if _, err := readTrunkHeader(f, id, slot); err != nil {
		return fmt.Errorf("disk: delete %s: %w: %w", id, ErrNotFound, err)
	}
	if _, err := f.WriteAt([]byte{trunkFree}, int64(slot.Offset)); err != nil {
		return fmt.Errorf("disk: delete %s: %w", id, osErr(err))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("disk: delete %s: %w", id, osErr(err))
	}
	return nil
}
