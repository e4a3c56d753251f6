package consensus

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// encodeLog writes a raft.Log as: uvarint index, uvarint term, type byte,
// varint AppendedAt in Unix nanoseconds (0 for the zero time), then
// uvarint-length-prefixed Data and Extensions.
func encodeLog(l *raft.Log) []byte {
	b := make([]byte, 0, 32+len(l.Data)+len(l.Extensions))
	b = binary.AppendUvarint(b, l.Index)
	b = binary.AppendUvarint(b, l.Term)
	b = append(b, byte(l.Type))
	var ts int64
	if !l.AppendedAt.IsZero() {
		ts = l.AppendedAt.UnixNano()
	}
	b = binary.AppendVarint(b, ts)
	b = appendBytes(b, l.Data)
	b = appendBytes(b, l.Extensions)
	return b
}

// decodeLog parses what encodeLog wrote; the result does not alias b.
func decodeLog(b []byte) (raft.Log, error) {
	var l raft.Log
	var err error
	r := reader{b: b}
	l.Index = r.uvarint()
	l.Term = r.uvarint()
	l.Type = raft.LogType(r.byte())
	if ts := r.varint(); ts != 0 {
		l.AppendedAt = time.Unix(0, ts)
	}
	l.Data = r.bytes()
	l.Extensions = r.bytes()
	if r.err != nil {
		err = fmt.Errorf("%w: raft log: %w", ErrCorrupt, r.err)
	} else if len(r.b) != 0 {
		err = fmt.Errorf("%w: raft log: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	return l, err
}

// peerRecord is what a coordinator remembers of another tracker.
type peerRecord struct {
	ID         string
	GossipAddr string
	GRPCAddr   string
	RaftAddr   string
}

func (p peerRecord) encode() []byte {
	var b []byte
	b = appendBytes(b, []byte(p.GossipAddr))
	b = appendBytes(b, []byte(p.GRPCAddr))
	b = appendBytes(b, []byte(p.RaftAddr))
	return b
}

func decodePeer(id, b []byte) (peerRecord, error) {
	r := reader{b: b}
	p := peerRecord{ID: string(id)}
	p.GossipAddr = string(r.bytes())
	p.GRPCAddr = string(r.bytes())
	p.RaftAddr = string(r.bytes())
	if r.err != nil {
		return peerRecord{}, fmt.Errorf("%w: peer %q: %w", ErrCorrupt, id, r.err)
	}
	return p, nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// reader decodes a byte string, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated %s", what)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("bytes")
		return nil
	}
	v := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return v
}
