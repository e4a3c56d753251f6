package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Errors of the package.
var (
	ErrCorrupt  = errors.New("meta: corrupt record")
	ErrSchema   = errors.New("meta: unknown schema version")
	ErrNotFound = errors.New("meta: not found")
	ErrLocked   = errors.New("meta: file locked")
)

// Options configure Open.
type Options struct {
	// Timeout bounds the wait for the file lock another process holds; 0 means 5 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// DB is the tracker's bbolt file.
type DB struct {
	db  *bolt.DB
	log *slog.Logger
}

// Open opens or creates the file at path.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	d := &DB{db: b, log: opts.Logger}
	if err := d.init(); err != nil {
		b.Close()
		return nil, fmt.Errorf("meta: %s: %w", path, err)
	}
	return d, nil
}

func (d *DB) init() error {
	return d.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		info := tx.Bucket(bucketInfo)
		switch v := info.Get(keySchema); {
		case v == nil:
			return info.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("%w %q", ErrSchema, v)
		}
		return nil
	})
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }

// Path returns the file's path.
func (d *DB) Path() string { return d.db.Path() }

func put(tx *bolt.Tx, bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, data)
}

// PutGroup creates or replaces a group.
func (d *DB) PutGroup(g Group) error {
	if g.Name == "" {
		return fmt.Errorf("meta: put group: empty name")
	}
	return d.db.Update(func(tx *bolt.Tx) error { return put(tx, bucketGroups, []byte(g.Name), g) })
}

// Groups returns every group in name order.
func (d *DB) Groups() ([]Group, error) {
	var out []Group
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(_, v []byte) error {
			g, err := DecodeGroup(v)
			if err != nil {
				return err
			}
			out = append(out, g)
			return nil
		})
	})
	return out, err
}

// PutStorage creates or replaces a storage (and nothing else: its group is PutGroup's).
func (d *DB) PutStorage(s Storage) error {
	if s.Group == "" || s.Key == "" {
		return fmt.Errorf("meta: put storage %q/%q: empty group or key", s.Group, s.Key)
	}
	return d.db.Update(func(tx *bolt.Tx) error {
		return put(tx, bucketStorages, storageKey(s.Group, s.Key), s)
	})
}

// PutStorages writes several storages in one transaction.
func (d *DB) PutStorages(ss []Storage) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		for _, s := range ss {
			if err := put(tx, bucketStorages, storageKey(s.Group, s.Key), s); err != nil {
				return err
			}
		}
		return nil
	})
}

// Storage returns one storage, or ErrNotFound.
func (d *DB) Storage(group, key string) (Storage, error) {
	var s Storage
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStorages).Get(storageKey(group, key))
		if v == nil {
			return fmt.Errorf("%w: storage %s/%s", ErrNotFound, group, key)
		}
		var err error
		s, err = DecodeStorage(v)
		return err
	})
	return s, err
}

// RemoveStorage deletes a storage record; removing a missing one is not an error.
func (d *DB) RemoveStorage(group, key string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStorages).Delete(storageKey(group, key))
	})
}

// Storages returns every storage, ordered by group and key.
func (d *DB) Storages() ([]Storage, error) {
	var out []Storage
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStorages).ForEach(func(_, v []byte) error {
			s, err := DecodeStorage(v)
			if err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// PutCursors stores round-robin cursors by name in one transaction.
func (d *DB) PutCursors(c map[string]uint64) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		for name, v := range c {
			if err := b.Put([]byte(name), strconv.AppendUint(nil, v, 10)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Cursors returns every stored cursor.
func (d *DB) Cursors() (map[string]uint64, error) {
	out := map[string]uint64{}
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCursors).ForEach(func(k, v []byte) error {
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("%w: cursor %q = %q", ErrCorrupt, k, v)
			}
			out[string(k)] = n
			return nil
		})
	})
	return out, err
}
