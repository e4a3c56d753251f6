package accounting

import (
	"container/list"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

// Delivery is what one response delivered.
type Delivery struct {
	// Pair is the key of (User, FileID) from Accountant.PairKey, when the caller took it while
	// the strings were at hand; Record takes it otherwise.
	Pair PairKey

	User string // the user (signed URL, auth answer, X-Accel), or the client address
	// Anonymous: no credential named the user, so User is the client address.
	Anonymous bool
	FileID    string // with group
	Size      int64  // the whole file's size
	Client    string // client address (host)
	Conn      string // the connection (remote host:port): counts connections per download
	Sent      []Span // file ranges the response was to carry (its Content-Range or whole file)
	Acked     []Span // file ranges the client acknowledged
	Aborted   bool   // the response ended before all it sent was acknowledged (reset, stalled)
	// Release, when set, is called once the Accountant no longer needs the Delivery (its
	// caller may then reuse it).
	Release func()
}

// PairKey stands for a (user, file) pair in Accountant.Whole (a bucket of pairs: not unique).
type PairKey struct {
	bucket uint32
	ok     bool
}

// Completion is one completed download: the callback's JSON body.
type Completion struct {
	Event       string    `json:"event"` // "download.completed"
	ID          string    `json:"id"`    // unique: receivers drop duplicates by it
	FileID      string    `json:"file_id"`
	User        string    `json:"user"`
	Client      string    `json:"client"`
	Size        int64     `json:"size"`
	Connections int       `json:"connections"`
	Started     time.Time `json:"started"`
	Completed   time.Time `json:"completed"`
	Anonymous   bool      `json:"anonymous,omitempty"` // user is the client address
}

// Config configures an Accountant. Zero values take the defaults noted.
type Config struct {
	Window     time.Duration       // a union must complete within this of its first byte (7 days)
	MaxEntries int                 // (user, file) pairs kept (1,000,000)
	Store      *meta.DownloadStore // nil = in memory only
	QueueMax   int                 // completion events kept in the store's queue (100,000)
	// QueueEvents keeps each completion's event in Store's queue (for a Notifier); without
	// it completions only reach OnComplete.
	QueueEvents   bool
	FlushInterval time.Duration // how often changes are written (1 s)
	Buffer        int           // deliveries waiting for the goroutine (65,536)
	// OnComplete, when set, is called after each completion is durable (its event queued in
	// Store); it must not block. It runs on the Accountant's goroutine, or, for a download
	// that one response delivered whole while no state or event needed writing, on the
	// goroutine that called Record: it must be safe for concurrent use.
	OnComplete func(Completion)
	// OnDelivery, when set, sees every delivery first, on the goroutine that called Record
	// (daily statistics); it must not block nor keep d.
	OnDelivery func(d *Delivery)
	Now        func() time.Time // nil = time.Now
	Logger     *slog.Logger     // nil = discard
}

// Stats are the Accountant's counters.
type Stats struct {
	Responses     uint64 // responses reported
	Aborted       uint64 // of which ended before the client acknowledged all they sent
	BytesSent     uint64 // file bytes handed to connections
	BytesAcked    uint64 // file bytes the clients acknowledged
	Entries       int    // pairs held now
	Completed     uint64 // downloads completed
	Evicted       uint64 // pairs dropped to stay within MaxEntries
	Expired       uint64 // unions restarted because the window passed
	DroppedRecord uint64 // deliveries dropped because the goroutine lagged
	DroppedEvents uint64 // queued events dropped because the queue was full
}

// Accountant merges deliveries into downloads. Record is safe for concurrent use.
type Accountant struct {
	cfg  Config
	qmu  sync.Mutex
	q    []*Delivery   // recorded, not yet merged (guarded by qmu)
	kick chan struct{} // a delivery arrived in an empty queue
	sync chan chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	// owned by the goroutine
	entries  map[string]*entry
	lru      *list.List // front = most recently active
	dirty    map[string]bool
	events   []Completion
	idPrefix string
	keyBuf   []byte      // lookup key scratch
	batch    Stats       // counts of the current batch, not yet published
	spare    []*Delivery // the queue's other slice

	mu    sync.Mutex // guards stats
	stats Stats

	dropped atomic.Uint64

	// held counts, per bucket of (user, file) pairs (pairKey), the pairs with state and the
	// deliveries queued for the goroutine. A download delivered whole in one response whose
	// bucket is empty completes in Record, on the caller's goroutine, counted in whole: no
	// queue, no wake, and the record is released while it is still in the caller's cache.
	held  [heldBuckets]atomic.Int32
	whole wholeCounts
	seq   atomic.Uint64 // event IDs (newID), shared by both paths
	seed  maphash.Seed
}

// heldBuckets is the size of Accountant.held: pairs with state (at most MaxEntries) make
// their buckets take the queued path, which is always right; a larger table only sends
// fewer whole downloads that way when many pairs have state.
const heldBuckets = 1 << 14

// wholeCounts are the counts of the downloads Record and Whole completed themselves.
type wholeCounts struct {
	responses, aborted, sent, acked, completed atomic.Uint64
	// Whole's: each is one response, one completion, and bytes both sent and acknowledged
	wholeN, wholeBytes atomic.Uint64
}

// entry is one (user, file) pair's union; it is also the stored record.
type entry struct {
	User    string    `json:"u"`
	FileID  string    `json:"f"`
	Client  string    `json:"c"`
	Size    int64     `json:"n"`
	Spans   []Span    `json:"r"`
	Conns   []string  `json:"k"` // distinct connections that delivered bytes (up to maxConns)
	More    int       `json:"m"` // connections beyond maxConns
	Started time.Time `json:"t"`
	Anon    bool      `json:"a,omitempty"`
	key     string
	bucket  uint32 // of Accountant.held
	saved   bool   // a record of it is in the store
	elem    *list.Element
}

const maxConns = 64

// New returns a running Accountant, with the pairs saved in cfg.Store loaded.
func New(cfg Config) (*Accountant, error) {
	if cfg.Window <= 0 {
		cfg.Window = 7 * 24 * time.Hour
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 1_000_000
	}
	if cfg.QueueMax <= 0 {
		cfg.QueueMax = 100_000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Accountant{
		cfg: cfg, kick: make(chan struct{}, 1), sync: make(chan chan struct{}), done: make(chan struct{}),
		entries: map[string]*entry{}, lru: list.New(), dirty: map[string]bool{}, idPrefix: randomPrefix(),
		seed: maphash.MakeSeed(),
	}
	if err := a.load(); err != nil {
		return nil, err
	}
	a.wg.Add(1)
	go a.run()
	return a, nil
}

// load reads the saved pairs, least recently started first.
func (a *Accountant) load() error {
	if a.cfg.Store == nil {
		return nil
	}
	err := a.cfg.Store.EachProgress(func(k, v []byte) error {
		e := &entry{}
		if err := json.Unmarshal(v, e); err != nil {
			a.cfg.Logger.Warn("accounting: dropping an unreadable record", "key", string(k), "err", err)
			a.dirty[string(k)] = true
			return nil
		}
		e.key, e.saved = string(k), true
		e.bucket = a.PairKey(e.User, e.FileID).bucket
		a.held[e.bucket].Add(1)
		a.entries[e.key] = e
		e.elem = a.lru.PushFront(e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("accounting: load: %w", err)
	}
	return nil
}

// Record takes d, which it owns from then on, and never blocks. A download delivered whole
// that no state or event needs is counted at once; any other delivery is queued for the
// goroutine (a full queue drops it and counts it).
func (a *Accountant) Record(d *Delivery) {
	if !d.Pair.ok {
		d.Pair = a.PairKey(d.User, d.FileID)
	}
	if a.cfg.OnDelivery != nil {
		a.cfg.OnDelivery(d)
	}
	if a.recordWhole(d) {
		d.release()
		return
	}
	a.held[d.Pair.bucket].Add(1) // before it is queued: a whole download of its pair now waits too
	a.qmu.Lock()
	if len(a.q) >= a.cfg.Buffer {
		a.qmu.Unlock()
		a.held[d.Pair.bucket].Add(-1)
		a.dropped.Add(1)
		d.release()
		return
	}
	a.q = append(a.q, d)
	first := len(a.q) == 1
	a.qmu.Unlock()
	if first {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

func (d *Delivery) release() {
	if d.Release != nil {
		d.Release()
	}
}

// Sync waits until every delivery recorded before it is merged and written.
func (a *Accountant) Sync() {
	ch := make(chan struct{})
	select {
	case a.sync <- ch:
		<-ch
	case <-a.done:
	}
}

// Stats returns the counters.
func (a *Accountant) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.DroppedRecord = a.dropped.Load()
	s.Responses += a.whole.responses.Load()
	s.Aborted += a.whole.aborted.Load()
	s.BytesSent += a.whole.sent.Load()
	s.BytesAcked += a.whole.acked.Load()
	s.Completed += a.whole.completed.Load()
	n, b := a.whole.wholeN.Load(), a.whole.wholeBytes.Load()
	s.Responses += n
	s.Completed += n
	s.BytesSent += b
	s.BytesAcked += b
	return s
}

// Close merges and writes what is queued and stops the goroutine.
func (a *Accountant) Close() error {
	a.once.Do(func() { close(a.done) })
	a.wg.Wait()
	return nil
}

// run merges deliveries as they come: Record kicks the goroutine only when it finds the queue
// empty, so under load one wake merges every delivery recorded while the goroutine waited for
// its turn (with GOMAXPROCS=1, those of a whole run of the connection goroutines).
func (a *Accountant) run() {
	defer a.wg.Done()
	t := time.NewTicker(a.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-a.kick:
			a.drain()
		case <-t.C:
			a.flush()
		case ch := <-a.sync:
			a.drain()
			a.flush()
			close(ch)
		case <-a.done:
			a.drain()
			a.flush()
			return
		}
	}
}

// drain merges every queued delivery, as of one reading of the clock, and publishes the counts.
func (a *Accountant) drain() {
	a.qmu.Lock()
	batch := a.q
	a.q = a.spare
	a.qmu.Unlock()
	if len(batch) > 0 {
		now := a.cfg.Now()
		for i, d := range batch {
			a.merge(d, now) // a pair it gave state holds the bucket before the delivery lets go
			a.held[d.Pair.bucket].Add(-1)
			d.release()
			batch[i] = nil
		}
	}
	a.spare = batch[:0]
	a.publish()
}
