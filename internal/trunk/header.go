package trunk

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/depotfs/depot/internal/fileid"
)

// HeaderSize is the size of a slot header; the file's bytes follow it.
const HeaderSize = 24

// Slot types (header byte 0).
const (
	TypeFree    = 0
	TypeRegular = 'F'
	TypeLink    = 'L'
)

// Header is the 24-byte slot header: type, allocated size (header included), file size,
// crc32, mtime and the 7-char formatted extension; integers big-endian.
type Header struct {
	Type  byte
	Alloc uint32
	Size  uint32
	CRC32 uint32
	MTime uint32
	Ext   [7]byte
}

// DecodeHeader reads a header from the first 24 bytes of b.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("trunk: slot header of %d bytes, want %d", len(b), HeaderSize)
	}
	h := Header{
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
func (h *Header) Encode(b []byte) {
	_ = b[HeaderSize-1]
	b[0] = h.Type
	binary.BigEndian.PutUint32(b[1:], h.Alloc)
	binary.BigEndian.PutUint32(b[5:], h.Size)
	binary.BigEndian.PutUint32(b[9:], h.CRC32)
	binary.BigEndian.PutUint32(b[13:], h.MTime)
	copy(b[17:24], h.Ext[:])
}

// HeaderOf is the header the name of a trunk ID promises (type F).
func HeaderOf(id fileid.ID) (Header, bool) {
	slot, ok := id.Trunk()
	if !ok {
		return Header{}, false
	}
	size, _ := id.Size()
	h := Header{Type: TypeRegular, Alloc: slot.Size, Size: uint32(size), CRC32: id.CRC32(), MTime: uint32(id.CreatedUnix())}
	name := id.Name()
	copy(h.Ext[:], name[len(name)-7:])
	return h, true
}

// plausible reports whether h, found at off in a trunk file of fileSize bytes, can be the
// header of a live slot: a known type, a file that fits its slot, a slot inside the file and
// an extension of the characters a formatted extension has.
func (h *Header) plausible(off, fileSize int64) bool {
	if h.Type != TypeRegular && h.Type != TypeLink {
		return false
	}
	if h.Alloc < HeaderSize || uint64(h.Size)+HeaderSize > uint64(h.Alloc) || off+int64(h.Alloc) > fileSize {
		return false
	}
	for _, c := range h.Ext {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// crcOK reports whether data (the slot's file bytes) has the header's crc32.
func (h *Header) crcOK(data []byte) bool {
	return crc32.ChecksumIEEE(data) == h.CRC32
}
