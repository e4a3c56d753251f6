// Package fileid is the FastDFS file ID as a value type: parse, format, decode and generate.
//
// A file ID is "<group>/M<HH>/<XX>/<YY>/<name>". The name of a normal or appender file is a
// 27-char unpadded base64 (alphabet A-Z a-z 0-9 - _) of 20 packed big-endian bytes (source,
// create time, masked size, crc32) plus a 7-char formatted extension; a trunk file inserts a
// 16-char base64 slot descriptor before the extension; a slave file appends a prefix and
// extension to its master's name. See docs/compat.md for where Depot is stricter than FastDFS.
//
// Parsing is strict so that a parsed ID is always safe to join below a store path: HH is two
// hex digits (either case), XX and YY two upper-case hex digits, the base64 parts use only
// their alphabet and the rest of the name only [A-Za-z0-9_.-], so the name never holds '/',
// '\', NUL or any byte a path could be escaped with. Parse does not allocate.
//
// The package uses the standard library only.
package fileid

import (
	"errors"
	"net/netip"
	"time"
)

// Kind tells what sort of file an ID names.
type Kind uint8

// The kinds of file ID.
const (
	Normal   Kind = iota // a regular file in a store path
	Trunk                // a slice of a trunk file
	Appender             // an appender file: size not in the name
	Slave                // a slave of a master file: size not in the name
)

// Lengths of the remote file name ("M00/XX/YY/name").
const (
	NormalRemoteLen = 44 // M00/XX/YY/ + 27 base64 + 7 ext
	TrunkRemoteLen  = 60 // NormalRemoteLen + 16 trunk info
	MaxGroupLen     = 16
	MaxExtLen       = 6
	MaxPrefixLen    = 16
)

// Bits of the masked size field.
const (
	FlagAppender = uint64(1) << 58
	FlagTrunk    = uint64(1) << 59
)

// ErrInvalid is wrapped by every parse and generation error.
var ErrInvalid = errors.New("invalid file id")

// TrunkSlot locates a file inside a trunk file.
type TrunkSlot struct {
	File   uint32 // trunk file id: data/XX/YY/<%06d>
	Offset uint32 // byte offset of the slot's 24-byte header
	Size   uint32 // allocated slot size, header included
}

// ID is a parsed file ID. The zero value is invalid; IDs are comparable with ==.
type ID struct {
	group     string
	remote    string // canonical "M00/XX/YY/name"
	path      uint8
	dir1      uint8
	dir2      uint8
	kind      Kind
	source    [4]byte // the 4 packed source bytes as written
	created   int32
	sizeField uint64
	crc       uint32
	trunk     TrunkSlot
}

// Valid reports whether id came from Parse, ParseRemote, New or Slave.
func (id ID) Valid() bool { return id.remote != "" }

// Group returns the group name, or "" when the ID was parsed without one.
func (id ID) Group() string { return id.group }

// WithGroup returns a copy of id with the group set (the caller validates g with ValidGroup).
func (id ID) WithGroup(g string) ID { id.group = g; return id }

// Remote returns "M00/XX/YY/name": the file ID without the group, as tokens are computed over.
// It is canonical: HH is upper case even when the parsed input had "M0a". A token check on a
// request hashes the path as requested, as FastDFS does, not Remote.
func (id ID) Remote() string { return id.remote }

// String returns "group/M00/XX/YY/name", or Remote() when the group is empty.
func (id ID) String() string {
	if id.group == "" {
		return id.remote
	}
	return id.group + "/" + id.remote
}

// StorePath returns the store path index (the HH of MHH).
func (id ID) StorePath() int { return int(id.path) }

// Dirs returns the two sub-directory indexes (XX, YY).
func (id ID) Dirs() (uint8, uint8) { return id.dir1, id.dir2 }

// Name returns the file name inside data/XX/YY/.
func (id ID) Name() string { return id.remote[10:] }

// RelPath returns "XX/YY/name", the path below a store path's data directory.
func (id ID) RelPath() string { return id.remote[4:] }

// Kind returns the kind of file.
func (id ID) Kind() Kind { return id.kind }

// SourceBytes returns the 4 packed source bytes.
func (id ID) SourceBytes() [4]byte { return id.source }

// SourceIPv4 returns the source bytes read as an IPv4 address.
func (id ID) SourceIPv4() netip.Addr { return netip.AddrFrom4(id.source) }

// ServerID returns the source as a storage server id and true when FastDFS would read it
// as one: the bytes read little-endian give a value in 1..2^24-1. An IPv4 address x.y.z.0
// also satisfies this; callers that know storage ids are not in use read SourceIPv4 instead.
func (id ID) ServerID() (uint32, bool) {
	v := uint32(id.source[0]) | uint32(id.source[1])<<8 | uint32(id.source[2])<<16 | uint32(id.source[3])<<24
	return v, v > 0 && v <= 1<<24-1
}

// Created returns the create time encoded in the ID.
func (id ID) Created() time.Time { return time.Unix(int64(id.created), 0) }

// CreatedUnix returns the create time encoded in the ID as Unix seconds.
func (id ID) CreatedUnix() int64 { return int64(id.created) }

// SizeField returns the raw masked size field.
func (id ID) SizeField() uint64 { return id.sizeField }

// CRC32 returns the crc32 field (meaningful for normal and trunk files).
func (id ID) CRC32() uint32 { return id.crc }

// Trunk returns the trunk slot and true for a trunk file.
func (id ID) Trunk() (TrunkSlot, bool) { return id.trunk, id.kind == Trunk }
