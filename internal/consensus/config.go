package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("consensus: invalid config")

// Config configures a Coordinator.
type Config struct {
	// NodeID names this tracker in gossip and in the Raft configuration. It
	// must be unique and stable across restarts; empty uses GRPCAddr.
	NodeID     string
	BindAddr   string // IPv4 address the gossip and Raft listeners bind to
	GossipPort int    // memberlist UDP+TCP port; 0 picks a free one
	RaftPort   int    // Raft TCP port; 0 picks a free one
	GRPCAddr   string // this tracker's gRPC address as peers reach it, host:port
	DataDir    string // holds StoreFile (Raft log, Raft state, known peers)

	// Expect is the number of trackers to wait for before a fresh cluster
	// bootstraps; 1 bootstraps a single tracker alone, 0 waits for SetExpect.
	Expect int

	// Resolve maps a tracker gRPC address learned from storages to that
	// tracker's gossip address (the tracker calls TrackerInfo). It is called
	// from a background goroutine with a bounded context.
	Resolve func(ctx context.Context, grpcAddr string) (gossipAddr string, err error)

	Applier Applier      // receives replicated decisions; nil ignores them
	Logger  *slog.Logger // nil discards
	Timers  Timers       // zero fields take production defaults

	// Reachable, when set, is consulted with a peer's IP for all gossip and
	// Raft traffic; false cuts it. A test hook for partitions; nil in
	// production.
	Reachable func(host string) bool
}

// Timers tunes failure detection and elections.
type Timers struct {
	Heartbeat   time.Duration // Raft follower heartbeat timeout (default 1 s)
	Election    time.Duration // Raft candidate election timeout (default 1 s)
	LeaderLease time.Duration // Raft leader lease (default 500 ms)
	Probe       time.Duration // gossip probe interval (default 1 s)
	Reconcile   time.Duration // bootstrap / voter / rejoin check period (default 1 s)
}

// FastTimers returns timers for tests on one host, with room for a loaded
// machine running the race detector.
func FastTimers() Timers {
	return Timers{
		Heartbeat:   500 * time.Millisecond,
		Election:    500 * time.Millisecond,
		LeaderLease: 250 * time.Millisecond,
		Probe:       100 * time.Millisecond,
		Reconcile:   100 * time.Millisecond,
	}
}

// leaderWait bounds how long WaitLeader waits through a leaderless window:
// followers notice a lost leader within two heartbeat timeouts (Raft
// randomizes each in [timeout, 2×timeout)), and an election takes one
// election timeout (up to two) per round; this leaves room for two rounds.
func (t Timers) leaderWait() time.Duration { return 2*t.Heartbeat + 4*t.Election }

func (t Timers) withDefaults() Timers {
	def := Timers{
		Heartbeat:   time.Second,
		Election:    time.Second,
		LeaderLease: 500 * time.Millisecond,
		Probe:       time.Second,
		Reconcile:   time.Second,
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&t.Heartbeat, &def.Heartbeat}, {&t.Election, &def.Election},
		{&t.LeaderLease, &def.LeaderLease}, {&t.Probe, &def.Probe}, {&t.Reconcile, &def.Reconcile},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return t
}

// Validate checks the config.
func (c Config) Validate() error {
	if net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("%w: bind addr %q is not an IP address", ErrConfig, c.BindAddr)
	}
	for name, p := range map[string]int{"gossip port": c.GossipPort, "raft port": c.RaftPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%w: %s %d", ErrConfig, name, p)
		}
	}
	if _, _, err := net.SplitHostPort(c.GRPCAddr); err != nil {
		return fmt.Errorf("%w: grpc addr %q: %w", ErrConfig, c.GRPCAddr, err)
	}
	if c.DataDir == "" {
		return fmt.Errorf("%w: empty data dir", ErrConfig)
	}
	if c.Expect < 0 {
		return fmt.Errorf("%w: expect %d", ErrConfig, c.Expect)
	}
	t := c.Timers.withDefaults()
	if t.LeaderLease > t.Heartbeat {
		return fmt.Errorf("%w: leader lease %v exceeds heartbeat timeout %v", ErrConfig, t.LeaderLease, t.Heartbeat)
	}
	return nil
}
