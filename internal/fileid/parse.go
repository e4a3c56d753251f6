package fileid

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// Offsets in the remote file name "M00/XX/YY/name".
const (
	logicPathLen = 10 // "M00/XX/YY/"
	base64Len    = 27 // 20 packed bytes
	trunkInfoLen = 16 // 12 trunk slot bytes
	fmtExtLen    = MaxExtLen + 1
)

// ValidGroup checks a group name: 1..16 chars of [A-Za-z0-9].
func ValidGroup(g string) error {
	if len(g) == 0 || len(g) > MaxGroupLen {
		return fmt.Errorf("%w: group %q: want 1..%d chars", ErrInvalid, g, MaxGroupLen)
	}
	for i := 0; i < len(g); i++ {
		if !isAlnum(g[i]) {
			return fmt.Errorf("%w: group %q: char %q not in [A-Za-z0-9]", ErrInvalid, g, g[i])
		}
	}
	return nil
}

// Parse parses a full file ID "group/M00/XX/YY/name", splitting the group at the first '/'.
func Parse(s string) (ID, error) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return ID{}, fmt.Errorf("%w: %q: no '/' after the group", ErrInvalid, s)
	}
	if err := ValidGroup(s[:i]); err != nil {
		return ID{}, err
	}
	return ParseRemote(s[:i], s[i+1:])
}

// ParseRemote parses "M00/XX/YY/name" and attaches group (which may be empty).
//
// The store path digits HH are accepted in either case and Remote returns them upper case;
// XX and YY must be upper case. Every character of the name after the 27-char base64 part
// must be in [A-Za-z0-9_.-], so a name is always one path element.
func ParseRemote(group, remote string) (ID, error) {
	if group != "" {
		if err := ValidGroup(group); err != nil {
			return ID{}, err
		}
	}
	if len(remote) < NormalRemoteLen {
		return ID{}, fmt.Errorf("%w: %q: shorter than %d chars", ErrInvalid, remote, NormalRemoteLen)
	}
	path, ok1 := hexByte(remote[1], remote[2], true)
	dir1, ok2 := hexByte(remote[4], remote[5], false)
	dir2, ok3 := hexByte(remote[7], remote[8], false)
	if remote[0] != 'M' || !ok1 || remote[3] != '/' {
		return ID{}, fmt.Errorf("%w: %q: want M<2 hex digits>/ first", ErrInvalid, remote)
	}
	if !ok2 || !ok3 || remote[6] != '/' || remote[9] != '/' {
		return ID{}, fmt.Errorf("%w: %q: want XX/YY/ of upper-case hex after M%s/", ErrInvalid, remote, remote[1:3])
	}
	id := ID{group: group, path: path, dir1: dir1, dir2: dir2}
	var packed [20]byte
	if !decodeB64(packed[:], remote[logicPathLen:logicPathLen+base64Len]) {
		return ID{}, fmt.Errorf("%w: %q: chars 10..36 are not base64 [A-Za-z0-9_-]", ErrInvalid, remote)
	}
	for i := logicPathLen + base64Len; i < len(remote); i++ {
		if !isNameChar(remote[i]) {
			return ID{}, fmt.Errorf("%w: %q: char %q at %d not in [A-Za-z0-9_.-]", ErrInvalid, remote, remote[i], i)
		}
	}
	copy(id.source[:], packed[0:4])
	id.created = int32(binary.BigEndian.Uint32(packed[4:8]))
	id.sizeField = binary.BigEndian.Uint64(packed[8:16])
	id.crc = binary.BigEndian.Uint32(packed[16:20])
	id.kind = classify(len(remote), id.sizeField)
	if id.kind == Trunk {
		var ti [12]byte
		if !decodeB64(ti[:], remote[logicPathLen+base64Len:logicPathLen+base64Len+trunkInfoLen]) {
			return ID{}, fmt.Errorf("%w: %q: trunk info at 37..52 is not base64 [A-Za-z0-9_-]", ErrInvalid, remote)
		}
		id.trunk = TrunkSlot{
			File:   binary.BigEndian.Uint32(ti[0:4]),
			Offset: binary.BigEndian.Uint32(ti[4:8]),
			Size:   binary.BigEndian.Uint32(ti[8:12]),
		}
	}
	if ok1 && (remote[1] >= 'a' || remote[2] >= 'a') {
		remote = fmt.Sprintf("M%02X", path) + remote[3:]
	}
	id.remote = remote
	return id, nil
}

// String returns "normal", "trunk", "appender" or "slave".
func (k Kind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Trunk:
		return "trunk"
	case Appender:
		return "appender"
	case Slave:
		return "slave"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// classify tells the kind of a remote name from its length and size field, the way FastDFS
// does: appender flag first, then a 60-char name with the trunk flag, then any longer name
// (longer than 60 when the trunk flag is set) is a slave.
func classify(n int, sizeField uint64) Kind {
	switch {
	case sizeField&FlagAppender != 0:
		return Appender
	case sizeField&FlagTrunk != 0 && n == TrunkRemoteLen:
		return Trunk
	case sizeField&FlagTrunk == 0 && n > NormalRemoteLen, n > TrunkRemoteLen:
		return Slave
	}
	return Normal
}

// Size returns the file size decoded from the name and true for Normal and Trunk IDs;
// Appender and Slave IDs carry no size (FastDFS reports -1).
func (id ID) Size() (int64, bool) {
	if !id.Valid() {
		return 0, false
	}
	switch id.kind {
	case Trunk:
		return int64(id.sizeField & 0xFFFFFFFF), true
	case Normal:
		if id.sizeField&(1<<63) != 0 || id.sizeField&FlagTrunk != 0 {
			return int64(id.sizeField & 0xFFFFFFFF), true
		}
		return int64(id.sizeField), true
	}
	return 0, false
}

// FormattedExt returns the last 7 chars of the name: for a normal, trunk or appender file the
// formatted extension ("123.jpg", ".abcdef", "4567890").
func (id ID) FormattedExt() string {
	if !id.Valid() {
		return ""
	}
	return id.remote[len(id.remote)-fmtExtLen:]
}

// Ext returns the file extension without the dot: the text after the first '.' within the
// last 7 chars of the name, or "" when there is none ("123.jpg" → "jpg", "123_big.jpg" → "jpg",
// "4567890" → "").
func (id ID) Ext() string {
	tail := id.FormattedExt()
	if i := strings.IndexByte(tail, '.'); i >= 0 {
		return tail[i+1:]
	}
	return ""
}

// ETag returns a strong HTTP entity tag built from the crc32 and size in the name, such as
// "\"0d4a1185-b\"", for Normal and Trunk IDs; "" for Slave and Appender IDs, whose name does
// not pin their content.
func (id ID) ETag() string {
	size, ok := id.Size()
	if !ok {
		return ""
	}
	const hexDigits = "0123456789abcdef"
	var b [1 + 8 + 1 + 16 + 1]byte
	b[0] = '"'
	for i := range 8 {
		b[1+i] = hexDigits[id.crc>>(28-4*i)&0xF]
	}
	b[9] = '-'
	n := 10
	u := uint64(size)
	start := false
	for sh := 60; sh >= 0; sh -= 4 {
		d := u >> sh & 0xF
		if d != 0 || start || sh == 0 {
			start = true
			b[n] = hexDigits[d]
			n++
		}
	}
	b[n] = '"'
	return string(b[:n+1])
}

func decodeB64(dst []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if !isB64Char(s[i]) {
			return false
		}
	}
	n, err := base64.RawURLEncoding.Decode(dst, []byte(s))
	return err == nil && n == len(dst)
}

// hexByte decodes two hex digits; lower-case digits are accepted only when lower is true.
func hexByte(hi, lo byte, lower bool) (uint8, bool) {
	h, ok1 := hexVal(hi, lower)
	l, ok2 := hexVal(lo, lower)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte, lower bool) (uint8, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case lower && c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isB64Char(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// isNameChar reports the chars FastDFS allows in extensions and slave prefixes.
func isNameChar(c byte) bool { return isB64Char(c) || c == '.' }

// MarshalText returns String(); the zero ID marshals as "".
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses a full file ID with Parse; "" gives the zero ID.
func (id *ID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*id = ID{}
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
