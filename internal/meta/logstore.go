package meta

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LogStore is the durable side of the trackers' consensus: an ordered log of opaque entries
// keyed by index, a small stable key-value table and a table of known peers, in a bbolt file
// of its own. Its methods are safe for concurrent use; each call is one transaction.
type LogStore struct {
	db *bolt.DB
}

// LogEntry is one entry of a LogStore.
type LogEntry struct {
	Index uint64
	Data  []byte
}

// OpenLogStore opens or creates the log file at path.
func OpenLogStore(path string) (*LogStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("meta: open log %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range logBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("meta: init log %s: %w", path, err)
	}
	return &LogStore{db: db}, nil
}

// Close closes the file.
func (s *LogStore) Close() error { return s.db.Close() }

func logKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// FirstIndex returns the first stored index, 0 if the log is empty.
func (s *LogStore) FirstIndex() (uint64, error) { return s.edge(true) }

// LastIndex returns the last stored index, 0 if the log is empty.
func (s *LogStore) LastIndex() (uint64, error) { return s.edge(false) }

func (s *LogStore) edge(first bool) (uint64, error) {
	var idx uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogEntries).Cursor()
		k, _ := c.Last()
		if first {
			k, _ = c.First()
		}
		if k != nil {
			idx = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return idx, err
}

// Entry returns a copy of the entry at index, and false when there is none.
func (s *LogStore) Entry(index uint64) ([]byte, bool, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketLogEntries).Get(logKey(index)); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, out != nil, err
}

// PutEntries stores entries in one transaction.
func (s *LogStore) PutEntries(entries []LogEntry) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogEntries)
		for _, e := range entries {
			if err := b.Put(logKey(e.Index), e.Data); err != nil {
				return fmt.Errorf("meta: store log entry %d: %w", e.Index, err)
			}
		}
		return nil
	})
}

// DeleteEntries removes the entries lo..hi inclusive.
func (s *LogStore) DeleteEntries(lo, hi uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogEntries).Cursor()
		for k, _ := c.Seek(logKey(lo)); k != nil && binary.BigEndian.Uint64(k) <= hi; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("meta: delete log entries %d..%d: %w", lo, hi, err)
			}
		}
		return nil
	})
}

// SetStable stores a stable value.
func (s *LogStore) SetStable(key, val []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLogStable).Put(key, val) })
}

// Stable returns a copy of a stable value, and false when the key is unset.
func (s *LogStore) Stable(key []byte) ([]byte, bool, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketLogStable).Get(key); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, out != nil, err
}

// PutPeer records what is known of the peer id.
func (s *LogStore) PutPeer(id string, rec []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketLogPeers).Put([]byte(id), rec) })
}

// Peers calls fn for every recorded peer; fn must not keep the slices.
func (s *LogStore) Peers(fn func(id, rec []byte)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLogPeers).ForEach(func(k, v []byte) error { fn(k, v); return nil })
	})
}
