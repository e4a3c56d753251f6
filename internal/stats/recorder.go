package stats

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

// Config configures a Recorder. Zero values take the defaults noted.
type Config struct {
	Store         *meta.StatsStore // required
	FlushInterval time.Duration    // 1 s
	// MaxKeysPerDay bounds the distinct keys one day may gain (100,000); more are dropped
	// and counted, so a flood of distinct beacon labels cannot grow the store without bound.
	MaxKeysPerDay int
	Location      *time.Location   // nil = time.Local
	Now           func() time.Time // nil = time.Now
	Logger        *slog.Logger
}

// Recorder counts live. Its methods are safe for concurrent use and never block on the disk.
type Recorder struct {
	cfg  Config
	mu   sync.Mutex
	pend map[string]map[string]meta.Counters // day → key → deltas
	keys map[string]map[string]struct{}      // day → keys seen (for MaxKeysPerDay)

	dropped atomic.Uint64
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// New starts a Recorder.
func New(cfg Config) (*Recorder, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("stats: no store")
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxKeysPerDay <= 0 {
		cfg.MaxKeysPerDay = 100_000
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{cfg: cfg, pend: map[string]map[string]meta.Counters{}, keys: map[string]map[string]struct{}{},
		done: make(chan struct{}), stopped: make(chan struct{})}
	go r.run()
	return r, nil
}

// Day returns t's day in the Recorder's location, as YYYY-MM-DD.
func (r *Recorder) Day(t time.Time) string { return t.In(r.cfg.Location).Format(time.DateOnly) }

// Add adds n to counter under key, on today's date.
func (r *Recorder) Add(key, counter string, n int64) {
	r.AddAt(r.cfg.Now(), key, counter, n)
}

// AddAt adds n to counter under key on t's day.
func (r *Recorder) AddAt(t time.Time, key, counter string, n int64) {
	day := r.Day(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := r.keys[day]
	if seen == nil {
		seen = map[string]struct{}{}
		r.keys[day] = seen
		for d := range r.keys { // keep today's and yesterday's sets
			if d < r.Day(t.AddDate(0, 0, -1)) {
				delete(r.keys, d)
			}
		}
	}
	if _, ok := seen[key]; !ok {
		if len(seen) >= r.cfg.MaxKeysPerDay {
			r.dropped.Add(1)
			return
		}
		seen[key] = struct{}{}
	}
	keys := r.pend[day]
	if keys == nil {
		keys = map[string]meta.Counters{}
		r.pend[day] = keys
	}
	cs := keys[key]
	if cs == nil {
		cs = meta.Counters{}
		keys[key] = cs
	}
	cs[counter] += n
}

// Dropped returns how many counts were dropped for MaxKeysPerDay.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Flush writes what is pending now.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	pend := r.pend
	r.pend = map[string]map[string]meta.Counters{}
	r.mu.Unlock()
	if len(pend) == 0 {
		return nil
	}
	if err := r.cfg.Store.AddLive(pend); err != nil {
		// Put the counts back: the next flush tries again.
		r.mu.Lock()
		for day, keys := range pend {
			for key, cs := range keys {
				for c, n := range cs {
					if r.pend[day] == nil {
						r.pend[day] = map[string]meta.Counters{}
					}
					if r.pend[day][key] == nil {
						r.pend[day][key] = meta.Counters{}
					}
					r.pend[day][key][c] += n
				}
			}
		}
		r.mu.Unlock()
		return fmt.Errorf("stats: write live counters: %w", err)
	}
	return nil
}

func (r *Recorder) run() {
	defer close(r.stopped)
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := r.Flush(); err != nil {
				r.cfg.Logger.Error("stats", "err", err)
			}
		case <-r.done:
			return
		}
	}
}

// Close stops the Recorder and writes what is pending.
func (r *Recorder) Close() error {
	r.once.Do(func() { close(r.done) })
	<-r.stopped
	return r.Flush()
}

// Query returns the stored rows (live and imported merged) of days from..to under prefix,
// after writing what is pending (so a count made before the call is in the answer).
func (r *Recorder) Query(from, to, prefix string) ([]meta.StatsRow, error) {
	if err := r.Flush(); err != nil {
		return nil, err
	}
	return r.cfg.Store.Query(from, to, prefix)
}
