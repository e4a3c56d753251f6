package trunk

import (
	"hash/crc32"

	"github.com/depotfs/depot/internal/disk"
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

// Header is the 24-byte slot header, as the store reads it (disk.TrunkHeader).
type Header = disk.TrunkHeader

// DecodeHeader reads a header from the first 24 bytes of b.
func DecodeHeader(b []byte) (Header, error) { return disk.DecodeTrunkHeader(b) }

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
func plausible(h *Header, off, fileSize int64) bool {
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
func crcOK(h *Header, data []byte) bool {
	return crc32.ChecksumIEEE(data) == h.CRC32
}
