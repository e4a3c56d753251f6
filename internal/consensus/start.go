package consensus

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/hashicorp/raft"

	"github.com/depotfs/depot/internal/membership"
)

// start opens the store and starts Raft and gossip; shutdown undoes it.
func (c *Coordinator) start() error {
	if err := os.MkdirAll(c.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("consensus: data dir %s: %w", c.cfg.DataDir, err)
	}
	var err error
	if c.store, err = openStore(c.cfg.DataDir); err != nil {
		return err
	}
	stream, err := newStreamLayer(c.cfg.BindAddr, c.cfg.RaftPort, c.cfg.Reachable)
	if err != nil {
		return err
	}
	c.raftAddr = stream.Addr().String()
	hl := raftLogger(c.log)
	c.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: 2 * c.timers.Heartbeat,
		Logger:  hl.Named("net"),
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.id)
	rc.HeartbeatTimeout = c.timers.Heartbeat
	rc.ElectionTimeout = c.timers.Election
	rc.LeaderLeaseTimeout = c.timers.LeaderLease
	rc.SnapshotThreshold = math.MaxUint64 // never compact: see errNoSnapshots
	rc.Logger = hl
	snaps := raft.NewDiscardSnapshotStore()
	if c.hasState, err = raft.HasExistingState(c.store, c.store, snaps); err != nil {
		return fmt.Errorf("consensus: read raft state in %s: %w", c.cfg.DataDir, err)
	}
	if c.raft, err = raft.NewRaft(rc, &fsm{applier: c.cfg.Applier}, c.store, c.store, snaps, c.trans); err != nil {
		return fmt.Errorf("consensus: start raft: %w", err)
	}
	c.obsCh = make(chan raft.Observation, 256)
	c.obs = raft.NewObserver(c.obsCh, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation, raft.LeaderObservation:
			return true
		}
		return false
	})
	c.raft.RegisterObserver(c.obs)
	known, err := c.store.peers()
	if err != nil {
		return fmt.Errorf("consensus: read known peers: %w", err)
	}
	for _, p := range known {
		c.peers[p.ID] = p
	}
	c.published = c.hasState
	c.ml, err = membership.New(membership.Config{
		Name:          c.id,
		BindAddr:      c.cfg.BindAddr,
		Port:          c.cfg.GossipPort,
		Meta:          membership.Meta{GRPCAddr: c.cfg.GRPCAddr, RaftAddr: c.raftAddr, Bootstrapped: c.hasState},
		ProbeInterval: c.timers.Probe,
		Reachable:     c.cfg.Reachable,
		Logger:        c.log,
	})
	return err
}

// shutdown stops whatever start started, in reverse order.
func (c *Coordinator) shutdown() error {
	var errs []error
	if c.ml != nil {
		errs = append(errs, c.ml.Close(c.timers.Probe))
	}
	if c.raft != nil {
		c.raft.DeregisterObserver(c.obs)
		errs = append(errs, c.raft.Shutdown().Error())
	}
	if c.trans != nil {
		errs = append(errs, c.trans.Close())
	}
	if c.store != nil {
		errs = append(errs, c.store.Close())
	}
	return errors.Join(errs...)
}
