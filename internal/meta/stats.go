package meta

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StatsStore is a storage node's daily statistics in one bbolt file: counters per (day, key),
// counted live and imported from access logs apart, so that importing a day's log repairs
// what a crash lost from the live counters without counting anything twice (a query takes the
// larger of the two per counter). Writes are durable when a call returns. It is safe for
// concurrent use.
type StatsStore struct {
	db *bolt.DB
}

// Counters are one (day, key)'s named counters.
type Counters map[string]int64

// StatsRow is one (day, key) of a query.
type StatsRow struct {
	Day  string // YYYY-MM-DD
	Key  string
	Data Counters
}

// OpenStats opens or creates the file at path.
func OpenStats(path string, opts Options) (*StatsStore, error) {
	b, err := openWith(path, opts, statsBuckets)
	if err != nil {
		return nil, err
	}
	return &StatsStore{db: b}, nil
}

// Close closes the file.
func (s *StatsStore) Close() error { return s.db.Close() }

func statsKey(day, key string) []byte { return []byte(day + "\x00" + key) }

// AddLive adds deltas (day → key → counters) to the live counters in one transaction.
func (s *StatsStore) AddLive(deltas map[string]map[string]Counters) error {
	return s.db.Update(func(tx *bolt.Tx) error { return addTo(tx.Bucket(bucketStatsLive), deltas) })
}

// BeginImport starts importing a log file identified by source (its content hash): already
// is true when source was imported before, and then nothing is to be done. Counters of an
// earlier import of source that did not finish are dropped, so a retried import counts once.
func (s *StatsStore) BeginImport(source string) (already bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketStatsSources).Get([]byte(source)) != nil {
			already = true
			return nil
		}
		logs := tx.Bucket(bucketStatsLog)
		if logs.Bucket([]byte(source)) != nil {
			if err := logs.DeleteBucket([]byte(source)); err != nil {
				return err
			}
		}
		_, err := logs.CreateBucket([]byte(source))
		return err
	})
	return already, err
}

// AddImport adds counters parsed from source's file (several calls bound the importer's memory).
func (s *StatsStore) AddImport(source string, deltas map[string]map[string]Counters) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStatsLog).Bucket([]byte(source))
		if b == nil {
			return fmt.Errorf("meta: stats import %s was not begun", source)
		}
		return addTo(b, deltas)
	})
}

// FinishImport records source as imported; note says what it was (the file name).
func (s *StatsStore) FinishImport(source, note string) error {
	rec, _ := json.Marshal(map[string]string{"imported": time.Now().UTC().Format(time.RFC3339), "file": note})
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStatsSources).Put([]byte(source), rec) })
}

// Imported reports whether source was imported.
func (s *StatsStore) Imported(source string) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketStatsSources).Get([]byte(source)) != nil
		return nil
	})
	return ok, err
}

func addTo(b *bolt.Bucket, deltas map[string]map[string]Counters) error {
	// bbolt writes sorted keys far faster than random ones: sort them first.
	type kv struct {
		k   []byte
		add Counters
	}
	var all []kv
	for day, keys := range deltas {
		for key, add := range keys {
			all = append(all, kv{statsKey(day, key), add})
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, e := range all {
		cur := Counters{}
		if v := b.Get(e.k); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("%w: stats %q: %v", ErrCorrupt, e.k, err)
			}
		}
		for name, n := range e.add {
			cur[name] += n
		}
		v, _ := json.Marshal(cur)
		if err := b.Put(e.k, v); err != nil {
			return err
		}
	}
	return nil
}

// Query returns the rows of days from..to (inclusive, YYYY-MM-DD) whose key is prefix or
// starts with prefix + "." ("" = all), sorted by day then key. Each counter is the larger of
// its live value and the sum over the finished imports.
func (s *StatsStore) Query(from, to, prefix string) ([]StatsRow, error) {
	live, logged := map[string]Counters{}, map[string]Counters{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := scanRange(tx.Bucket(bucketStatsLive), from, to, prefix, live); err != nil {
			return err
		}
		sources := tx.Bucket(bucketStatsSources)
		logs := tx.Bucket(bucketStatsLog)
		return sources.ForEach(func(src, _ []byte) error {
			if b := logs.Bucket(src); b != nil {
				return scanRange(b, from, to, prefix, logged)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for id, cs := range logged {
		cur := live[id]
		if cur == nil {
			cur = Counters{}
			live[id] = cur
		}
		for n, x := range cs {
			cur[n] = max(cur[n], x)
		}
	}
	out := make([]StatsRow, 0, len(live))
	for id, cs := range live {
		day, key, _ := strings.Cut(id, "\x00")
		out = append(out, StatsRow{Day: day, Key: key, Data: cs})
	}
	sortRows(out)
	return out, nil
}

// scanRange adds b's counters of days from..to under prefix into into (summing).
func scanRange(b *bolt.Bucket, from, to, prefix string, into map[string]Counters) error {
	c := b.Cursor()
	for k, v := c.Seek([]byte(from)); k != nil; k, v = c.Next() {
		day, key, ok := bytes.Cut(k, []byte{0})
		if !ok {
			continue
		}
		if string(day) > to {
			break
		}
		if prefix != "" && string(key) != prefix && !bytes.HasPrefix(key, []byte(prefix+".")) {
			continue
		}
		var cs Counters
		if err := json.Unmarshal(v, &cs); err != nil {
			return fmt.Errorf("%w: stats %q: %v", ErrCorrupt, k, err)
		}
		cur := into[string(k)]
		if cur == nil {
			cur = Counters{}
			into[string(k)] = cur
		}
		for n, x := range cs {
			cur[n] += x
		}
	}
	return nil
}

func sortRows(rows []StatsRow) {
	slices.SortFunc(rows, func(a, b StatsRow) int {
		if c := cmp.Compare(a.Day, b.Day); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
}
