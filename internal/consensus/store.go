package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/depotfs/depot/internal/meta"
)

// StoreFile is the log file the coordinator keeps in Config.DataDir.
const StoreFile = "consensus.db"

// errKeyNotFound must read exactly "not found": raft compares the text.
var errKeyNotFound = errors.New("not found")

// ErrCorrupt reports a stored record that does not decode.
var ErrCorrupt = errors.New("consensus: corrupt record")

// raftStore is raft's LogStore and StableStore over meta.LogStore (the project's one bbolt
// package), plus the table of known peers that lets a restarted tracker find the others again.
type raftStore struct {
	log *meta.LogStore
}

var (
	_ raft.LogStore    = (*raftStore)(nil)
	_ raft.StableStore = (*raftStore)(nil)
)

func openStore(dir string) (*raftStore, error) {
	l, err := meta.OpenLogStore(filepath.Join(dir, StoreFile))
	if err != nil {
		return nil, fmt.Errorf("consensus: %w", err)
	}
	return &raftStore{log: l}, nil
}

func (s *raftStore) Close() error { return s.log.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// FirstIndex returns the first stored log index, 0 if none.
func (s *raftStore) FirstIndex() (uint64, error) { return s.log.FirstIndex() }

// LastIndex returns the last stored log index, 0 if none.
func (s *raftStore) LastIndex() (uint64, error) { return s.log.LastIndex() }

// GetLog reads the entry at index into l.
func (s *raftStore) GetLog(index uint64, l *raft.Log) error {
	v, ok, err := s.log.Entry(index)
	if err != nil {
		return err
	}
	if !ok {
		return raft.ErrLogNotFound
	}
	got, err := decodeLog(v)
	if err != nil {
		return fmt.Errorf("log %d: %w", index, err)
	}
	*l = got
	return nil
}

// StoreLog stores one entry.
func (s *raftStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries in one transaction.
func (s *raftStore) StoreLogs(logs []*raft.Log) error {
	entries := make([]meta.LogEntry, len(logs))
	for i, l := range logs {
		entries[i] = meta.LogEntry{Index: l.Index, Data: encodeLog(l)}
	}
	if err := s.log.PutEntries(entries); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	return nil
}

// DeleteRange removes entries min..max inclusive.
func (s *raftStore) DeleteRange(lo, hi uint64) error { return s.log.DeleteEntries(lo, hi) }

// Set stores a stable value.
func (s *raftStore) Set(key, val []byte) error { return s.log.SetStable(key, val) }

// Get reads a stable value; a missing key is errKeyNotFound.
func (s *raftStore) Get(key []byte) ([]byte, error) {
	v, ok, err := s.log.Stable(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errKeyNotFound
	}
	return v, nil
}

// SetUint64 stores a stable integer.
func (s *raftStore) SetUint64(key []byte, val uint64) error { return s.Set(key, indexKey(val)) }

// GetUint64 reads a stable integer.
func (s *raftStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: stable key %q has %d bytes", ErrCorrupt, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// putPeer records what is known of a peer.
func (s *raftStore) putPeer(p peerRecord) error { return s.log.PutPeer(p.ID, p.encode()) }

// peers returns every recorded peer; undecodable records are skipped.
func (s *raftStore) peers() ([]peerRecord, error) {
	var out []peerRecord
	err := s.log.Peers(func(k, v []byte) {
		if p, err := decodePeer(k, v); err == nil {
			out = append(out, p)
		}
	})
	return out, err
}
