package membership

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadMeta reports node metadata that does not decode.
var ErrBadMeta = errors.New("membership: bad node meta")

// MaxMetaSize is memberlist's limit on node metadata.
const MaxMetaSize = 512

const metaVersion = 1

// Meta is what a tracker tells its peers about itself through gossip.
type Meta struct {
	GRPCAddr string // the tracker's gRPC address, host:port
	RaftAddr string // the tracker's Raft transport address, host:port
	// Bootstrapped is true once the tracker has Raft state (it belongs to a
	// cluster configuration); fresh trackers use it to decide whether to
	// bootstrap a new cluster or wait to be added to the existing one.
	Bootstrapped bool
}

// Encode returns the wire form of m: a version byte, two uvarint-length
// prefixed strings and a flags byte.
func (m Meta) Encode() ([]byte, error) {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen16+len(m.GRPCAddr)+len(m.RaftAddr))
	b = append(b, metaVersion)
	b = binary.AppendUvarint(b, uint64(len(m.GRPCAddr)))
	b = append(b, m.GRPCAddr...)
	b = binary.AppendUvarint(b, uint64(len(m.RaftAddr)))
	b = append(b, m.RaftAddr...)
	var flags byte
	if m.Bootstrapped {
		flags |= 1
	}
	b = append(b, flags)
	if len(b) > MaxMetaSize {
		return nil, fmt.Errorf("%w: %d bytes for %q/%q exceeds %d", ErrBadMeta, len(b), m.GRPCAddr, m.RaftAddr, MaxMetaSize)
	}
	return b, nil
}

// DecodeMeta parses the wire form written by [Meta.Encode]. Unknown flag
// bits and trailing bytes from newer versions of the same major version are
// ignored so that the format can grow.
func DecodeMeta(b []byte) (Meta, error) {
	if len(b) == 0 {
		return Meta{}, fmt.Errorf("%w: empty", ErrBadMeta)
	}
	if len(b) > MaxMetaSize {
		return Meta{}, fmt.Errorf("%w: %d bytes", ErrBadMeta, len(b))
	}
	if b[0] != metaVersion {
		return Meta{}, fmt.Errorf("%w: version %d", ErrBadMeta, b[0])
	}
	rest := b[1:]
	grpcAddr, rest, err := readString(rest)
	if err != nil {
		return Meta{}, fmt.Errorf("%w: grpc addr: %w", ErrBadMeta, err)
	}
	raftAddr, rest, err := readString(rest)
	if err != nil {
		return Meta{}, fmt.Errorf("%w: raft addr: %w", ErrBadMeta, err)
	}
	if len(rest) < 1 {
		return Meta{}, fmt.Errorf("%w: missing flags", ErrBadMeta)
	}
	return Meta{GRPCAddr: grpcAddr, RaftAddr: raftAddr, Bootstrapped: rest[0]&1 != 0}, nil
}

var errShort = errors.New("truncated")

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return "", nil, errShort
	}
	b = b[k:]
	if n > uint64(len(b)) {
		return "", nil, fmt.Errorf("length %d: %w", n, errShort)
	}
	return string(b[:n]), b[n:], nil
}
