package replica

import (
	"context"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Member is a storage of the group as the trackers describe it.
type Member struct {
	Key  string
	Addr string // host:port of its gRPC listener
	// Up is true for a member that can take changes (ACTIVE, ONLINE, WAIT_SYNC, SYNCING).
	Up bool
	// Deleted is true once an operator removed it from the group.
	Deleted bool
	// WaitSync is true while it waits for or receives its full copy; SyncSource and
	// SyncUntil then name its source and the tracker's until timestamp.
	WaitSync   bool
	SyncSource string
	SyncUntil  int64
}

// Manager runs one Sender per other member of the group. Safe for concurrent use.
type Manager struct {
	o    Options
	log  *slog.Logger
	dial func(addr string) (grpc.ClientConnInterface, func() error, error)

	mu      sync.Mutex
	ctx     context.Context
	senders map[string]*running
	stopped map[string]chan struct{} // senders told to stop, by peer
	wg      sync.WaitGroup
}

type running struct {
	s      *Sender
	addr   string
	up     bool
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
}

// NewManager returns a manager; Run its senders by calling Update with the membership.
// dial may be nil (plaintext gRPC to the member's address).
func NewManager(ctx context.Context, o Options, dial func(addr string) (grpc.ClientConnInterface, func() error, error)) *Manager {
	o.defaults()
	if dial == nil {
		dial = func(addr string) (grpc.ClientConnInterface, func() error, error) {
			c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, nil, err
			}
			return c, c.Close, nil
		}
	}
	return &Manager{o: o, log: o.Logger, dial: dial, ctx: ctx, senders: map[string]*running{}, stopped: map[string]chan struct{}{}}
}

// Update starts senders for new members, kicks those that came back, restarts the cursor
// of members waiting for a full copy, and stops senders of members that left.
func (m *Manager) Update(self string, members []Member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil || self == "" {
		return
	}
	seen := map[string]bool{}
	for _, mb := range members {
		if mb.Key == self || mb.Key == "" {
			continue
		}
		r := m.senders[mb.Key]
		if mb.Deleted {
			if r != nil {
				m.stop(mb.Key, r)
				if err := r.s.Forget(); err != nil {
					m.log.Warn("removing mark of deleted peer", "peer", mb.Key, "err", err)
				}
			}
			continue
		}
		seen[mb.Key] = true
		if r != nil && r.addr != mb.Addr {
			m.stop(mb.Key, r)
			r = nil
		}
		if r == nil {
			var err error
			if r, err = m.start(self, mb); err != nil {
				m.log.Warn("cannot start replication to peer", "peer", mb.Key, "addr", mb.Addr, "err", err)
				continue
			}
		}
		if mb.Up && !r.up {
			r.s.Kick()
		}
		r.up = mb.Up
		if mb.WaitSync && mb.SyncUntil > 0 {
			r.s.Resync(mb.SyncUntil, mb.SyncSource == self)
		}
	}
	for k, r := range m.senders {
		if !seen[k] {
			m.stop(k, r)
		}
	}
	for k, done := range m.stopped {
		select {
		case <-done:
			delete(m.stopped, k)
		default:
		}
	}
}

func (m *Manager) start(self string, mb Member) (*running, error) {
	conn, closeFn, err := m.dial(mb.Addr)
	if err != nil {
		return nil, err
	}
	// A sender to the same peer that was just stopped must be gone before its mark file
	// is read again.
	if old := m.stopped[mb.Key]; old != nil {
		<-old
		delete(m.stopped, mb.Key)
	}
	o := m.o
	o.Self = self
	s := NewSender(o, mb.Key, conn)
	ctx, cancel := context.WithCancel(m.ctx)
	r := &running{s: s, addr: mb.Addr, cancel: cancel, done: make(chan struct{})}
	m.senders[mb.Key] = r
	m.wg.Go(func() {
		defer close(r.done)
		_ = s.Run(ctx)
		_ = closeFn()
	})
	m.log.Info("replicating to peer", "peer", mb.Key, "addr", mb.Addr)
	return r, nil
}

func (m *Manager) stop(key string, r *running) {
	r.cancel()
	delete(m.senders, key)
	m.stopped[key] = r.done
}

// Sender returns the sender to peer (nil when none).
func (m *Manager) Sender(peer string) *Sender {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.senders[peer]; r != nil {
		return r.s
	}
	return nil
}

// KickAll retries every waiting sender now.
func (m *Manager) KickAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.senders {
		r.s.Kick()
	}
}

// Wait waits for every sender to stop (after the manager's context ended).
func (m *Manager) Wait() {
	m.wg.Wait()
}
