package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DownloadStore is a storage node's download accounting in one bbolt file: the acknowledged
// ranges of each (user, file) pair and the queue of completion events waiting for the
// callback. Values are opaque to this package (the accountant encodes them). Writes are
// durable when a call returns. It is safe for concurrent use.
type DownloadStore struct {
	db *bolt.DB
}

// Event is one queued completion event.
type Event struct {
	Seq  uint64
	Data []byte
}

// OpenDownloads opens or creates the file at path.
func OpenDownloads(path string, opts Options) (*DownloadStore, error) {
	b, err := openWith(path, opts, downloadBuckets)
	if err != nil {
		return nil, err
	}
	return &DownloadStore{db: b}, nil
}

// openWith opens or creates a bbolt file at path with buckets. A file another process holds
// past opts.Timeout (5 s) is ErrLocked.
func openWith(path string, opts Options, buckets [][]byte) (*bolt.DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("meta: open %s: %w (another process has it open)", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("meta: %s: %w", path, err)
	}
	return b, nil
}

// Close closes the file.
func (s *DownloadStore) Close() error { return s.db.Close() }

// EachProgress calls fn with every saved progress record; fn must not keep key or val.
func (s *DownloadStore) EachProgress(fn func(key, val []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return tx.Bucket(bucketDLProgress).ForEach(fn) })
}

// Commit writes progress records (a nil value deletes the key) and appends events to the
// queue, in one transaction. When the queue then holds more than maxEvents, the oldest are
// dropped; dropped says how many.
func (s *DownloadStore) Commit(progress map[string][]byte, events [][]byte, maxEvents int) (dropped int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketDLProgress)
		for k, v := range progress {
			var err error
			if v == nil {
				err = pb.Delete([]byte(k))
			} else {
				err = pb.Put([]byte(k), v)
			}
			if err != nil {
				return fmt.Errorf("progress %q: %w", k, err)
			}
		}
		eb := tx.Bucket(bucketDLEvents)
		for _, e := range events {
			seq, err := eb.NextSequence()
			if err != nil {
				return err
			}
			if err := eb.Put(binary.BigEndian.AppendUint64(nil, seq), e); err != nil {
				return err
			}
		}
		if maxEvents <= 0 {
			return nil
		}
		over := countKeys(eb) - maxEvents
		if over <= 0 {
			return nil
		}
		c := eb.Cursor()
		for k, _ := c.First(); k != nil && dropped < over; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			dropped++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("meta: download store commit: %w", err)
	}
	return dropped, nil
}

// Events returns up to n queued events, oldest first.
func (s *DownloadStore) Events(n int) ([]Event, error) {
	var out []Event
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDLEvents).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("%w: event key %x", ErrCorrupt, k)
			}
			out = append(out, Event{Seq: binary.BigEndian.Uint64(k), Data: append([]byte(nil), v...)})
		}
		return nil
	})
	return out, err
}

// DeleteEvent removes a delivered event; a missing one is not an error.
func (s *DownloadStore) DeleteEvent(seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDLEvents).Delete(binary.BigEndian.AppendUint64(nil, seq))
	})
}

// EventCount returns how many events are queued.
func (s *DownloadStore) EventCount() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = countKeys(tx.Bucket(bucketDLEvents))
		return nil
	})
	return n, err
}

// countKeys walks b's keys (Stats does not see a write transaction's own changes).
func countKeys(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}
