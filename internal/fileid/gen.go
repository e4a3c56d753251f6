package fileid

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// NewParams are the inputs to New.
type NewParams struct {
	Group    string
	Path     int   // store path index 0..255
	Dir1     uint8 // XX
	Dir2     uint8 // YY
	Source   [4]byte
	Created  int64 // Unix seconds, within int32
	Size     int64 // 0..2^58-1; below 2^32 for a trunk file
	CRC32    uint32
	Ext      string // without the dot, 0..6 chars of [A-Za-z0-9_.-]
	Appender bool
	Trunk    *TrunkSlot // non-nil for a trunk file
	// Rand supplies the random bits. New calls it once for the size field's random high bits
	// (unless a normal file is 2^32 bytes or more), then once for the extension's pad digits
	// (unless the extension is 6 chars long), which are Rand() % 10^n as n decimal digits.
	// Nil means math/rand/v2.
	Rand func() uint32
}

// New generates a file ID exactly as a FastDFS storage does on upload.
func New(p NewParams) (ID, error) {
	if p.Group != "" {
		if err := ValidGroup(p.Group); err != nil {
			return ID{}, err
		}
	}
	switch {
	case p.Path < 0 || p.Path > 255:
		return ID{}, fmt.Errorf("%w: store path index %d: want 0..255", ErrInvalid, p.Path)
	case p.Created < math.MinInt32 || p.Created > math.MaxInt32:
		return ID{}, fmt.Errorf("%w: create time %d does not fit 32 bits", ErrInvalid, p.Created)
	case p.Size < 0 || uint64(p.Size) >= FlagAppender:
		return ID{}, fmt.Errorf("%w: size %d: want 0..2^58-1", ErrInvalid, p.Size)
	case p.Trunk != nil && p.Appender:
		return ID{}, fmt.Errorf("%w: an appender file cannot be a trunk file", ErrInvalid)
	case p.Trunk != nil && p.Size > math.MaxUint32:
		return ID{}, fmt.Errorf("%w: trunk file size %d does not fit 32 bits", ErrInvalid, p.Size)
	}
	if err := validExt(p.Ext); err != nil {
		return ID{}, err
	}
	rnd := p.Rand
	if rnd == nil {
		rnd = rand.Uint32
	}
	var sizeField uint64
	switch {
	case p.Appender:
		sizeField = combineRandom(rnd(), 0) | FlagAppender
	case p.Trunk != nil:
		sizeField = combineRandom(rnd(), uint32(p.Size)) | FlagTrunk
	case p.Size <= math.MaxUint32:
		sizeField = combineRandom(rnd(), uint32(p.Size))
	default:
		sizeField = uint64(p.Size)
	}
	var packed [20]byte
	copy(packed[0:4], p.Source[:])
	binary.BigEndian.PutUint32(packed[4:8], uint32(int32(p.Created)))
	binary.BigEndian.PutUint64(packed[8:16], sizeField)
	binary.BigEndian.PutUint32(packed[16:20], p.CRC32)

	b := make([]byte, 0, TrunkRemoteLen)
	b = fmt.Appendf(b, "M%02X/%02X/%02X/", p.Path, p.Dir1, p.Dir2)
	b = base64.RawURLEncoding.AppendEncode(b, packed[:])
	if t := p.Trunk; t != nil {
		var ti [12]byte
		binary.BigEndian.PutUint32(ti[0:4], t.File)
		binary.BigEndian.PutUint32(ti[4:8], t.Offset)
		binary.BigEndian.PutUint32(ti[8:12], t.Size)
		b = base64.RawURLEncoding.AppendEncode(b, ti[:])
	}
	b = appendFormattedExt(b, p.Ext, rnd)
	return ParseRemote(p.Group, string(b))
}

// combineRandom puts 23 random bits and bit 63 above the low 32 bits of a size.
func combineRandom(r, low32 uint32) uint64 {
	hi := uint64(r&0x007FFFFF | 0x80000000)
	return hi<<32 | uint64(low32)
}

// appendFormattedExt appends the 7-char formatted extension: random digits, '.', ext.
func appendFormattedExt(b []byte, ext string, rnd func() uint32) []byte {
	pad := fmtExtLen
	if ext != "" {
		pad = MaxExtLen - len(ext)
	}
	if pad > 0 {
		mod := uint32(1)
		for range pad {
			mod *= 10
		}
		b = fmt.Appendf(b, "%0*d", pad, rnd()%mod)
	}
	if ext != "" {
		b = append(b, '.')
		b = append(b, ext...)
	}
	return b
}

func validExt(ext string) error {
	if len(ext) > MaxExtLen {
		return fmt.Errorf("%w: extension %q: longer than %d chars", ErrInvalid, ext, MaxExtLen)
	}
	for i := 0; i < len(ext); i++ {
		if !isNameChar(ext[i]) {
			return fmt.Errorf("%w: extension %q: char %q not in [A-Za-z0-9_.-]", ErrInvalid, ext, ext[i])
		}
	}
	return nil
}

// SlaveOf returns the ID of the slave file of master with the given prefix and extension
// (ext "" keeps the master's extension). The master's name is cut at the first '.' within
// its last 7 chars, then prefix and "."+ext (or the master's extension, dot included) are
// appended. The prefix is 0..16 chars of [A-Za-z0-9_.-].
func SlaveOf(master ID, prefix, ext string) (ID, error) {
	if !master.Valid() {
		return ID{}, fmt.Errorf("%w: slave of an invalid master", ErrInvalid)
	}
	if master.kind == Slave {
		return ID{}, fmt.Errorf("%w: master %q is itself a slave", ErrInvalid, master.remote)
	}
	if len(prefix) > MaxPrefixLen {
		return ID{}, fmt.Errorf("%w: slave prefix %q: longer than %d chars", ErrInvalid, prefix, MaxPrefixLen)
	}
	for i := 0; i < len(prefix); i++ {
		if !isNameChar(prefix[i]) {
			return ID{}, fmt.Errorf("%w: slave prefix %q: char %q not in [A-Za-z0-9_.-]", ErrInvalid, prefix, prefix[i])
		}
	}
	if err := validExt(ext); err != nil {
		return ID{}, err
	}
	base, masterExt := master.remote, ""
	if i := strings.IndexByte(base[len(base)-fmtExtLen:], '.'); i >= 0 {
		cut := len(base) - fmtExtLen + i
		base, masterExt = base[:cut], base[cut:]
	}
	tail := masterExt
	if ext != "" {
		tail = "." + ext
	}
	switch {
	case prefix == "" && tail == masterExt:
		return ID{}, fmt.Errorf("%w: slave of %q: empty prefix and the master's extension name the master", ErrInvalid, master.remote)
	case tail == "" && strings.HasSuffix(prefix, "-m"):
		return ID{}, fmt.Errorf("%w: slave of %q: prefix %q without extension names a metadata file", ErrInvalid, master.remote, prefix)
	}
	id, err := ParseRemote(master.group, base+prefix+tail)
	if err != nil {
		return ID{}, err
	}
	if id.kind != Slave {
		return ID{}, fmt.Errorf("%w: slave name %q would read back as a %v file", ErrInvalid, id.remote, id.kind)
	}
	return id, nil
}

// SourceFromIPv4 packs an IPv4 address (or an IPv4-mapped IPv6 address) as the source bytes
// of new IDs.
func SourceFromIPv4(a netip.Addr) ([4]byte, error) {
	a = a.Unmap()
	if !a.Is4() {
		return [4]byte{}, fmt.Errorf("%w: source address %v is not IPv4", ErrInvalid, a)
	}
	return a.As4(), nil
}

// SourceFromServerID packs a storage server id (1..16777215) as the source bytes of new IDs:
// the id little-endian, as FastDFS on little-endian hosts writes it (100001 → A1 86 01 00).
func SourceFromServerID(id uint32) ([4]byte, error) {
	if id == 0 || id > 1<<24-1 {
		return [4]byte{}, fmt.Errorf("%w: server id %d: want 1..16777215", ErrInvalid, id)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], id)
	return b, nil
}
