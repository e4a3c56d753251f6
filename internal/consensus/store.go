package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// Bucket names of the consensus file, all in one place.
var (
	bucketLogs   = []byte("raft-logs")   // big-endian index -> encoded raft.Log
	bucketStable = []byte("raft-stable") // raft's current term, last vote, ...
	bucketPeers  = []byte("peers")       // node ID -> encoded peer record
)

// StoreFile is the bbolt file the coordinator keeps in Config.DataDir.
const StoreFile = "consensus.db"

// errKeyNotFound must read exactly "not found": raft compares the text.
var errKeyNotFound = errors.New("not found")

// ErrCorrupt reports a stored record that does not decode.
var ErrCorrupt = errors.New("consensus: corrupt record")

// boltStore is raft's LogStore and StableStore over one bbolt file, plus the
// table of known peers that lets a restarted tracker find the others again.
type boltStore struct {
	db *bolt.DB
}

var (
	_ raft.LogStore    = (*boltStore)(nil)
	_ raft.StableStore = (*boltStore)(nil)
)

func openStore(dir string) (*boltStore, error) {
	path := filepath.Join(dir, StoreFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("consensus: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLogs, bucketStable, bucketPeers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("consensus: init %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func (s *boltStore) Close() error { return s.db.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// FirstIndex returns the first stored log index, 0 if none.
func (s *boltStore) FirstIndex() (uint64, error) {
	var idx uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().First(); k != nil {
			idx = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return idx, err
}

// LastIndex returns the last stored log index, 0 if none.
func (s *boltStore) LastIndex() (uint64, error) {
	var idx uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().Last(); k != nil {
			idx = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return idx, err
}

// GetLog reads the entry at index into l.
func (s *boltStore) GetLog(index uint64, l *raft.Log) error {
	return s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLogs).Get(indexKey(index))
		if v == nil {
			return raft.ErrLogNotFound
		}
		got, err := decodeLog(v)
		if err != nil {
			return fmt.Errorf("log %d: %w", index, err)
		}
		*l = got
		return nil
	})
}

// StoreLog stores one entry.
func (s *boltStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries in one transaction.
func (s *boltStore) StoreLogs(logs []*raft.Log) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs)
		for _, l := range logs {
			if err := b.Put(indexKey(l.Index), encodeLog(l)); err != nil {
				return fmt.Errorf("consensus: store log %d: %w", l.Index, err)
			}
		}
		return nil
	})
}

// DeleteRange removes entries min..max inclusive.
func (s *boltStore) DeleteRange(lo, hi uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		for k, _ := c.Seek(indexKey(lo)); k != nil && binary.BigEndian.Uint64(k) <= hi; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("consensus: delete logs %d..%d: %w", lo, hi, err)
			}
		}
		return nil
	})
}

// Set stores a stable value.
func (s *boltStore) Set(key, val []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStable).Put(key, val) })
}

// Get reads a stable value; a missing key is errKeyNotFound.
func (s *boltStore) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStable).Get(key)
		if v == nil {
			return errKeyNotFound
		}
		val = append([]byte(nil), v...)
		return nil
	})
	return val, err
}

// SetUint64 stores a stable integer.
func (s *boltStore) SetUint64(key []byte, val uint64) error { return s.Set(key, indexKey(val)) }

// GetUint64 reads a stable integer.
func (s *boltStore) GetUint64(key []byte) (uint64, error) {
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
func (s *boltStore) putPeer(p peerRecord) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeers).Put([]byte(p.ID), p.encode())
	})
}

// peers returns every recorded peer; undecodable records are skipped.
func (s *boltStore) peers() ([]peerRecord, error) {
	var out []peerRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeers).ForEach(func(k, v []byte) error {
			if p, err := decodePeer(k, v); err == nil {
				out = append(out, p)
			}
			return nil
		})
	})
	return out, err
}
