package fdfsproto

import (
	"bytes"
	"encoding/binary"
)

// Field widths.
const (
	GroupLen  = 16 // group name, zero-padded
	IPv4Field = 15 // IP field in IPv4 mode (IP_ADDRESS_SIZE 16, minus one)
	IPv6Field = 45 // IP field with IPv6 addresses (46 minus one)
	ExtLen    = 6  // file extension, zero-padded
	PrefixLen = 16 // slave prefix, zero-padded
)

// PutInt64 writes v big-endian to b[:8].
func PutInt64(b []byte, v int64) { binary.BigEndian.PutUint64(b, uint64(v)) }

// Int64 reads a big-endian int64 from b[:8].
func Int64(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

// AppendInt64 appends v big-endian.
func AppendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// AppendFixed appends s zero-padded (or cut) to width bytes.
func AppendFixed(b []byte, s string, width int) []byte {
	if len(s) > width {
		s = s[:width]
	}
	b = append(b, s...)
	for range width - len(s) {
		b = append(b, 0)
	}
	return b
}

// Fixed reads a zero-padded string: up to the first NUL of b.
func Fixed(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// AppendGroup appends a 16-byte group field.
func AppendGroup(b []byte, g string) []byte { return AppendFixed(b, g, GroupLen) }

// IPField is the width of the IP field for addr: 15 bytes unless addr is too long for it
// (an IPv6 address), then 45.
func IPField(addr string) int {
	if len(addr) > IPv4Field {
		return IPv6Field
	}
	return IPv4Field
}
