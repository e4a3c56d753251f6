package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/depotfs/depot/internal/membership"
)

// ErrNotLeader is returned by Propose on a tracker that is not the leader;
// the message names the leader's gRPC address when one is known.
var ErrNotLeader = errors.New("consensus: not the leader")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("consensus: closed")

// Peer is a tracker a Coordinator knows.
type Peer struct {
	GRPCAddr string
	Alive    bool
	Leader   bool
}

// Coordinator runs this tracker's gossip node and Raft node. See the
// package documentation for how they cooperate. It is safe for concurrent use.
type Coordinator struct {
	cfg      Config
	id       string
	timers   Timers
	log      *slog.Logger
	raftAddr string

	store *raftStore
	trans *raft.NetworkTransport
	raft  *raft.Raft
	ml    *membership.Membership
	obs   *raft.Observer
	obsCh chan raft.Observation

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{}

	mu         sync.Mutex
	expect     int
	hasState   bool                        // Raft state exists: never bootstrap again
	published  bool                        // Bootstrapped flag last gossiped
	peers      map[string]peerRecord       // by node ID: gossip, gRPC and Raft addresses
	seeds      map[string]bool             // gRPC addresses from AddPeers
	failing    map[raft.ServerID]time.Time // voters whose heartbeats fail (since), until resumed
	dropped    uint64                      // observations the observer dropped, as last seen
	readyTerm  uint64                      // term whose barrier this node committed as leader
	settling   bool                        // a barrier is in flight (see establish)
	joining    bool
	lastRejoin time.Time
	closed     bool
	handedTo   string // the node Close handed leadership to, or "" (tests)
}

// New opens the store in cfg.DataDir, starts the Raft and gossip listeners
// and the background loop, and returns at once: leadership comes later.
func New(cfg Config) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:     cfg,
		id:      cfg.NodeID,
		timers:  cfg.Timers.withDefaults(),
		log:     cfg.Logger,
		expect:  cfg.Expect,
		peers:   make(map[string]peerRecord),
		seeds:   make(map[string]bool),
		failing: make(map[raft.ServerID]time.Time),
		kick:    make(chan struct{}, 1),
	}
	if c.id == "" {
		c.id = cfg.GRPCAddr
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("node", c.id)
	if err := c.start(); err != nil {
		c.shutdown()
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.loop()
	go c.watch(c.obsCh)
	c.nudge()
	return c, nil
}

// Close stops gossip and Raft and closes the store. A leader first hands
// leadership to another voter (handOver), so that the others need not wait
// out their heartbeat timeout to elect one.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.handedTo = c.handOver()
	c.cancel()
	c.wg.Wait()
	return c.shutdown()
}

// GossipAddr returns this tracker's gossip address (for TrackerInfo).
func (c *Coordinator) GossipAddr() string { return c.ml.LocalAddr() }

// RaftAddr returns this tracker's Raft address (for TrackerInfo).
func (c *Coordinator) RaftAddr() string { return c.raftAddr }

// NodeID returns this tracker's node ID.
func (c *Coordinator) NodeID() string { return c.id }

// Propose replicates cmd through the Raft log; it returns once the command
// is committed and applied on this (the leader's) Applier, with the
// Applier's error. On a follower it returns ErrNotLeader naming the leader.
func (c *Coordinator) Propose(ctx context.Context, cmd []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("consensus: propose: %w", err)
	}
	if !c.IsLeader() {
		return c.notLeader()
	}
	timeout := 10 * c.timers.Heartbeat
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("consensus: propose: %w", context.DeadlineExceeded)
	}
	f := c.raft.Apply(cmd, timeout)
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
				return fmt.Errorf("%w: %w", ErrNotLeader, err)
			}
			return fmt.Errorf("consensus: propose: %w", err)
		}
		if aerr, ok := f.Response().(error); ok && aerr != nil {
			return aerr
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("consensus: propose: %w", ctx.Err())
	}
}

// SetExpect sets how many trackers a fresh cluster waits for before it
// bootstraps (the length of the storages' tracker_server lists). It only
// matters before the first bootstrap; a smaller value than one already
// set is ignored.
func (c *Coordinator) SetExpect(n int) {
	c.mu.Lock()
	raised := n > c.expect
	if raised {
		c.expect = n
	}
	c.mu.Unlock()
	if raised {
		c.nudge()
	}
}

// AddPeers records tracker gRPC addresses learned from storages; the
// background loop resolves each to a gossip address and joins it. It
// never blocks.
func (c *Coordinator) AddPeers(grpcAddrs []string) {
	c.mu.Lock()
	known := make(map[string]bool, len(c.peers))
	for _, p := range c.peers {
		known[p.GRPCAddr] = true
	}
	added := false
	for _, a := range grpcAddrs {
		if a == "" || a == c.cfg.GRPCAddr || c.seeds[a] || known[a] {
			continue // known trackers are rejoined by their gossip address
		}
		c.seeds[a] = true
		added = true
	}
	c.mu.Unlock()
	if added {
		c.nudge()
	}
}

// Peers returns every tracker known by gossip, by the store, or by
// AddPeers, this one included, sorted by gRPC address.
func (c *Coordinator) Peers() []Peer {
	_, leader := c.raft.LeaderWithID()
	byAddr := make(map[string]Peer)
	c.mu.Lock()
	for _, p := range c.peers {
		byAddr[p.GRPCAddr] = Peer{GRPCAddr: p.GRPCAddr, Leader: string(leader) == p.ID}
	}
	for a := range c.seeds {
		if _, ok := byAddr[a]; !ok {
			byAddr[a] = Peer{GRPCAddr: a}
		}
	}
	c.mu.Unlock()
	for _, m := range c.ml.Members() {
		if m.Meta.GRPCAddr != "" {
			byAddr[m.Meta.GRPCAddr] = Peer{GRPCAddr: m.Meta.GRPCAddr, Alive: m.Alive, Leader: string(leader) == m.Name}
		}
	}
	byAddr[c.cfg.GRPCAddr] = Peer{GRPCAddr: c.cfg.GRPCAddr, Alive: true, Leader: string(leader) == c.id}
	out := make([]Peer, 0, len(byAddr))
	for _, p := range byAddr {
		out = append(out, p)
	}
	sortPeers(out)
	return out
}

func (c *Coordinator) nudge() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}
