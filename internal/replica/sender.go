package replica

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/proto/replicapb"
)

// Defaults of Options.
const (
	DefaultConcurrency = 4
	DefaultMaxBackoff  = 3 * time.Second
	// Slack is how far behind the binlog's end a caught-up sender reports its progress:
	// a change being written while the end was read has a timestamp at most this old.
	Slack          = 2 * time.Second
	perWorkerQueue = 16
	progressEvery  = 500 * time.Millisecond
)

// Options configure the senders of a storage.
type Options struct {
	Self  string // this storage's key
	Group string
	Store *disk.Store
	Log   *binlog.Writer // the local binlog (read by the senders)
	// MarkDir holds the peers' mark files (default: the binlog directory).
	MarkDir     string
	Concurrency int           // parallel records per peer (0: DefaultConcurrency)
	MaxBackoff  time.Duration // longest wait between retries (0: DefaultMaxBackoff)
	Logger      *slog.Logger
	Now         func() time.Time
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MarkDir == "" {
		o.MarkDir = o.Log.Dir()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Sender pushes the local binlog to one peer. Run drives it; Kick and Resync may be
// called from any goroutine.
type Sender struct {
	o    Options
	peer string
	cl   replicapb.ReplicaServiceClient
	log  *slog.Logger
	path string // mark file

	resync chan resyncReq

	mu       sync.Mutex
	mark     binlog.Mark
	inflight *window
	synced   int64         // reported watermark
	kick     chan struct{} // closed by Kick, then replaced
}

type resyncReq struct {
	until  int64
	source bool
}

// NewSender returns a sender to peer over conn.
func NewSender(o Options, peer string, conn grpc.ClientConnInterface) *Sender {
	o.defaults()
	s := &Sender{
		o: o, peer: peer, cl: replicapb.NewReplicaServiceClient(conn),
		log: o.Logger.With("peer", peer), path: binlog.MarkPath(o.MarkDir, peer),
		kick: make(chan struct{}), resync: make(chan resyncReq, 1),
	}
	s.loadMark()
	return s
}

// Kick makes a waiting sender retry now (the tracker reports the peer back).
func (s *Sender) Kick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.kick)
	s.kick = make(chan struct{})
}

// kicked returns the channel the next Kick closes.
func (s *Sender) kicked() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kick
}

// Resync restarts the cursor from the first record for a peer that the tracker put in
// WAIT_SYNC with sync_until_ts until; source tells whether this storage is its sync source
// (then lower-case records go too). A repeated call with the same until does nothing.
func (s *Sender) Resync(until int64, source bool) {
	s.mu.Lock()
	same := s.mark.UntilTS == until && s.mark.NeedSyncOld == source
	s.mu.Unlock()
	if same {
		return
	}
	select {
	case <-s.resync:
	default:
	}
	s.resync <- resyncReq{until: until, source: source}
}

// Mark returns the current cursor state.
func (s *Sender) Mark() binlog.Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mark
}

// ship tells whether a record goes to the peer.
func ship(m binlog.Mark, r binlog.Record) bool {
	if r.Op.Local() {
		return true
	}
	if !m.NeedSyncOld || m.SyncOldDone {
		return false
	}
	switch r.Op.Upper() {
	case binlog.Delete:
		return true
	case binlog.Create, binlog.Update, binlog.Link, binlog.Rename:
		return r.TS <= m.UntilTS
	}
	return false
}

// job is one record in flight.
type job struct {
	seq uint64
	rec binlog.Record
}

// window tracks records in flight in binlog order, so the cursor advances only past
// records that are all done.
type window struct {
	base  uint64 // seq of the first unfinished record
	next  uint64
	done  map[uint64]bool
	pos   map[uint64]binlog.Position // position after each record
	ts    map[uint64]int64
	start binlog.Position // committed position
}

func newWindow(start binlog.Position) *window {
	return &window{done: map[uint64]bool{}, pos: map[uint64]binlog.Position{}, ts: map[uint64]int64{}, start: start}
}

func (w *window) add(pos binlog.Position, ts int64) uint64 {
	seq := w.next
	w.next++
	w.pos[seq], w.ts[seq] = pos, ts
	return seq
}

// finish marks seq done and returns the number of records committed by it.
func (w *window) finish(seq uint64) int64 {
	w.done[seq] = true
	var n int64
	for w.base < w.next && w.done[w.base] {
		w.start = w.pos[w.base]
		delete(w.done, w.base)
		delete(w.pos, w.base)
		delete(w.ts, w.base)
		w.base++
		n++
	}
	return n
}

func (w *window) pending() int { return int(w.next - w.base) }

// oldestTS is the smallest timestamp in flight (ok false when none).
func (w *window) oldestTS() (int64, bool) {
	var m int64
	ok := false
	for _, ts := range w.ts {
		if !ok || ts < m {
			m, ok = ts, true
		}
	}
	return m, ok
}

// workerOf picks the worker of a record: by file, so a file's records, its metadata's
// included, go in binlog order.
func workerOf(name string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(strings.TrimSuffix(name, binlog.MetaSuffix)))
	return int(h.Sum32() % uint32(n))
}

// loadMark reads the peer's mark (a new peer starts at the first record).
func (s *Sender) loadMark() {
	m, _, err := binlog.LoadMark(s.path)
	if err != nil {
		s.log.Warn("unreadable mark file: starting over from the first record", "err", err)
		m = binlog.Mark{}
	}
	s.mu.Lock()
	s.mark = m
	s.mu.Unlock()
}

func (s *Sender) saveMark() {
	s.mu.Lock()
	m := s.mark
	s.mu.Unlock()
	if err := m.Save(s.path); err != nil {
		s.log.Warn("saving mark", "err", err)
	}
}

// Forget removes the peer's mark file (the peer was deleted from the group).
func (s *Sender) Forget() error {
	if err := removeIfExists(s.path); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
