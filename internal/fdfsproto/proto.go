package fdfsproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderSize is the size of a frame header.
const HeaderSize = 10

// Commands (a request header's cmd byte). Responses carry CmdResp.
const (
	CmdResp       byte = 100
	CmdActiveTest byte = 111
	CmdQuit       byte = 82

	// Tracker.
	CmdListOneGroup           byte = 90
	CmdListGroups             byte = 91
	CmdListStorages           byte = 92
	CmdQueryStoreNoGroupOne   byte = 101
	CmdQueryFetchOne          byte = 102
	CmdQueryUpdate            byte = 103
	CmdQueryStoreWithGroupOne byte = 104
	CmdQueryFetchAll          byte = 105
	CmdQueryStoreNoGroupAll   byte = 106
	CmdQueryStoreWithGroupAll byte = 107

	// Storage.
	CmdUpload         byte = 11
	CmdDelete         byte = 12
	CmdSetMetadata    byte = 13
	CmdDownload       byte = 14
	CmdGetMetadata    byte = 15
	CmdCreateLink     byte = 20
	CmdUploadSlave    byte = 21
	CmdQueryFileInfo  byte = 22
	CmdUploadAppender byte = 23
	CmdAppend         byte = 24
	CmdModify         byte = 34
	CmdTruncate       byte = 36
	CmdRegenerateName byte = 38
)

// Status bytes are Linux errno values; these are the ones Depot answers with.
const (
	StatusOK      byte = 0
	StatusNoEnt   byte = 2  // ENOENT
	StatusIO      byte = 5  // EIO
	StatusAccess  byte = 13 // EACCES
	StatusBusy    byte = 16 // EBUSY
	StatusExist   byte = 17 // EEXIST
	StatusInval   byte = 22 // EINVAL
	StatusNoSpace byte = 28 // ENOSPC
	StatusNoSys   byte = 38 // ENOSYS: unknown command
)

// MaxPkgLen is the largest pkg_len a header may declare (256 TiB). Anything bigger, or
// negative, is not a FastDFS header: Mux hands such a connection to no one.
const MaxPkgLen = 1 << 48

// ErrHeader: the 10 bytes are not a plausible FastDFS header.
var ErrHeader = errors.New("fdfs: invalid frame header")

// Header is a frame header.
type Header struct {
	Len    int64 // pkg_len: the body length
	Cmd    byte
	Status byte
}

// ParseHeader decodes b[:10]. A pkg_len outside [0, MaxPkgLen] is ErrHeader.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes", ErrHeader, len(b))
	}
	n := int64(binary.BigEndian.Uint64(b))
	if n < 0 || n > MaxPkgLen {
		return Header{}, fmt.Errorf("%w: pkg_len %d", ErrHeader, n)
	}
	return Header{Len: n, Cmd: b[8], Status: b[9]}, nil
}

// Put encodes h into b[:10].
func (h Header) Put(b []byte) {
	binary.BigEndian.PutUint64(b, uint64(h.Len))
	b[8], b[9] = h.Cmd, h.Status
}

// Bytes returns the 10 encoded bytes of h.
func (h Header) Bytes() []byte {
	b := make([]byte, HeaderSize)
	h.Put(b)
	return b
}

// ReadHeader reads and decodes one header from r.
func ReadHeader(r io.Reader) (Header, error) {
	var b [HeaderSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Header{}, err
	}
	return ParseHeader(b[:])
}

// ErrTooLarge: a body is longer than the command allows.
var ErrTooLarge = errors.New("fdfs: body larger than allowed")

// ReadSmall reads a body of n bytes that the command keeps in memory. n above max is
// ErrTooLarge before anything is allocated or read; the buffer is n bytes, so at most max.
func ReadSmall(r io.Reader, n int64, max int) ([]byte, error) {
	if n < 0 || n > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
