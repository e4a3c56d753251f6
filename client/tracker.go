package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

// ErrNoTracker is returned when no tracker of Config.Trackers answers.
var ErrNoTracker = errors.New("no tracker available")

// trackerTimeout bounds one call to one tracker before the next is tried.
const trackerTimeout = 5 * time.Second

// trackerMode is a Client that asks trackers where files go and come from. It keeps one
// connection per tracker and a pooled Client per storage address.
type trackerMode struct {
	cfg      Config
	log      *slog.Logger
	trackers []*trackerConn
	next     atomic.Int32 // index of the tracker that answered last

	mu       sync.Mutex
	storages map[string]*pooled
	closed   bool
}

// pooled is a storage Client shared by the calls of a trackerMode. A call holds it from
// storage to release. A dropped one leaves the pool at once but is closed only when its
// last call releases it: a storage call failing must not cut the other calls on the same
// connection, which may still succeed (and if not, fail on their own and retry).
type pooled struct {
	*Client
	addr    string
	refs    int  // calls holding it; guarded by trackerMode.mu
	dropped bool // out of the pool: closed when refs reaches 0
	shut    bool // closed (by trackerMode.close, with calls in flight)
}

type trackerConn struct {
	addr string
	conn *grpc.ClientConn
	rpc  trackerpb.TrackerServiceClient
}

func newTrackerMode(cfg Config) (*trackerMode, error) {
	t := &trackerMode{cfg: cfg, log: cfg.Logger, storages: map[string]*pooled{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for _, a := range cfg.Trackers {
		conn, err := grpc.NewClient(a, grpc.WithTransportCredentials(cfg.creds()), keepaliveOption(),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
				MinConnectTimeout: 2 * time.Second,
			}))
		if err != nil {
			t.close()
			return nil, fmt.Errorf("depot client: tracker %q: %w: %w", a, ErrInvalid, err)
		}
		t.trackers = append(t.trackers, &trackerConn{addr: a, conn: conn, rpc: trackerpb.NewTrackerServiceClient(conn)})
	}
	return t, nil
}

// waitAny waits until one tracker accepts a connection.
func (t *trackerMode) waitAny(timeout time.Duration) error {
	errs := make(chan error, len(t.trackers))
	for _, tc := range t.trackers {
		go func() { errs <- waitReady(tc.conn, timeout) }()
	}
	var all []error
	for range t.trackers {
		err := <-errs
		if err == nil {
			return nil
		}
		all = append(all, err)
	}
	return fmt.Errorf("depot client: trackers %v: %w: %w", t.cfg.Trackers, ErrNoTracker, errors.Join(all...))
}

func (t *trackerMode) close() error {
	t.mu.Lock()
	t.closed = true
	storages := t.storages
	t.storages = map[string]*pooled{}
	for _, p := range storages {
		p.dropped, p.shut = true, true
	}
	t.mu.Unlock()
	var errs []error
	for _, c := range storages {
		errs = append(errs, c.Close())
	}
	for _, tc := range t.trackers {
		errs = append(errs, tc.conn.Close())
	}
	return errors.Join(errs...)
}

// trackerDown reports whether err means the tracker could not answer (try the next one).
func trackerDown(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unknown, codes.Internal:
		return true
	}
	return false
}

// call runs fn on the tracker that answered last, then on the others in order, until one
// answers (any answer, errors included, that is not "tracker unreachable").
func (t *trackerMode) call(ctx context.Context, op string, fn func(context.Context, trackerpb.TrackerServiceClient) error) error {
	n := len(t.trackers)
	start := int(t.next.Load())
	var errs []error
	for i := range n {
		idx := (start + i) % n
		tc := t.trackers[idx]
		cctx, cancel := context.WithTimeout(ctx, trackerTimeout)
		err := fn(cctx, tc.rpc)
		cancel()
		if err == nil || !trackerDown(err) {
			t.next.Store(int32(idx))
			if err != nil {
				return fromTracker(op, tc.addr, err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("depot client: %s: %w", op, ctx.Err())
		}
		t.log.Debug("tracker did not answer", "tracker", tc.addr, "op", op, "err", err)
		errs = append(errs, fmt.Errorf("tracker %s: %w", tc.addr, err))
	}
	return fmt.Errorf("depot client: %s: %w: %w", op, ErrNoTracker, errors.Join(errs...))
}

// fromTracker translates a tracker's answer: NOT_FOUND (no storage can serve) and
// RESOURCE_EXHAUSTED (no space) keep their sentinels.
func fromTracker(op, addr string, err error) error {
	st, _ := status.FromError(err)
	return &rpcError{op: op, code: st.Code(), msg: "tracker " + addr + ": " + st.Message(), kind: sentinel(st.Code())}
}

// storage returns the pooled Client for a storage, connecting when there is none or the
// pooled one's connection failed. The caller must release it when its call is over. An
// error here means nothing was sent to the storage.
func (t *trackerMode) storage(b *trackerpb.StorageBrief) (*pooled, error) {
	addr := net.JoinHostPort(b.GetAddr(), strconv.Itoa(int(b.GetPort())))
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("depot client: %w: client closed", ErrInvalid)
	}
	var stale *pooled
	if p := t.storages[addr]; p != nil {
		if s := p.conn.GetState(); s != connectivity.TransientFailure && s != connectivity.Shutdown {
			p.refs++
			t.mu.Unlock()
			return p, nil
		}
		if t.dropLocked(p) {
			stale = p
		}
	}
	t.mu.Unlock()
	if stale != nil {
		stale.Close()
	}
	timeout := t.cfg.DialTimeout
	if timeout <= 0 || timeout > trackerTimeout {
		timeout = trackerTimeout
	}
	c, err := New(Config{Storage: addr, Secret: t.cfg.Secret, DialTimeout: timeout, TLS: t.cfg.TLS, Logger: t.cfg.Logger})
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, fmt.Errorf("depot client: %w: client closed", ErrInvalid)
	}
	if old := t.storages[addr]; old != nil {
		c.Close()
		old.refs++
		return old, nil
	}
	p := &pooled{Client: c, addr: addr, refs: 1}
	t.storages[addr] = p
	return p, nil
}

// release ends a call's hold on p, closing p if it was dropped and this was the last call.
func (t *trackerMode) release(p *pooled) {
	t.mu.Lock()
	p.refs--
	last := p.dropped && !p.shut && p.refs == 0
	t.mu.Unlock()
	if last {
		p.Close()
	}
}

// dropStorage takes p, whose call failed, out of the pool (when it is still the pooled
// Client of its storage); it is closed once no call holds it.
func (t *trackerMode) dropStorage(p *pooled) {
	t.mu.Lock()
	last := t.storages[p.addr] == p && t.dropLocked(p)
	t.mu.Unlock()
	if last {
		p.Close()
	}
}

// dropLocked takes p out of the pool and reports whether no call holds it (the caller
// closes it then). t.mu is held.
func (t *trackerMode) dropLocked(p *pooled) bool {
	delete(t.storages, p.addr)
	p.dropped = true
	return p.refs == 0
}

// newTrackerClient returns a Client in tracker mode once one tracker accepts a connection.
func newTrackerClient(cfg Config) (*Client, error) {
	t, err := newTrackerMode(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	if err := t.waitAny(timeout); err != nil {
		t.close()
		return nil, err
	}
	c := &Client{secret: cfg.Secret, log: t.log, trk: t}
	c.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	return c, nil
}
