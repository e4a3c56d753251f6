package consensus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// IsLeader reports whether this tracker is the established Raft leader and
// still hears from a quorum.
//
// Established means that it has committed and applied an entry of its own
// term (the barrier establish issues on election): from then on its log,
// the cluster configuration included, is on a majority of voters, and its
// Applier has applied every earlier decision. Raft calls a node leader as
// soon as it wins the vote; reporting that would let a caller act on a
// leader whose term may not survive the next partition (after bootstrap,
// the configuration exists only on the bootstrapping tracker until its
// first leader replicates it, so a majority cut off from it then cannot
// elect anyone).
//
// A leader cut off from the majority stops reporting true as soon as its
// heartbeats to a quorum fail, before Raft's lease expires.
func (c *Coordinator) IsLeader() bool {
	if c.raft.State() != raft.Leader {
		return false
	}
	term := c.raft.CurrentTerm()
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	voters, reached := 0, 0
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readyTerm != term {
		return false
	}
	if n := c.obs.GetNumDropped(); n != c.dropped {
		// An observation was lost (the channel was full), a resume among them maybe:
		// forget the failures rather than count a peer unreached for good.
		c.dropped = n
		clear(c.failing)
	}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		// A voter whose heartbeats failed is unreached until one succeeds again (Raft
		// observes that). The time of its last failure does not age it out: Raft backs
		// off between attempts, and a starved heartbeat goroutine observes nothing for
		// longer still, which made a cut-off leader report true again under load.
		if _, failing := c.failing[s.ID]; s.ID == raft.ServerID(c.id) || !failing {
			reached++
		}
	}
	return reached > voters/2
}

// LeaderAddr returns the Raft leader's gRPC address, if a leader is known.
// The leader it names may still be establishing its term (see IsLeader).
func (c *Coordinator) LeaderAddr() (string, bool) {
	_, id := c.raft.LeaderWithID()
	if id == "" {
		return "", false
	}
	if string(id) == c.id {
		return c.cfg.GRPCAddr, true
	}
	c.mu.Lock()
	p, ok := c.peers[string(id)]
	c.mu.Unlock()
	if !ok || p.GRPCAddr == "" {
		return "", false
	}
	return p.GRPCAddr, true
}

// WaitLeader returns the leader's gRPC address, this tracker's own when it
// is the established leader, waiting through a leaderless window: after a
// leader is lost the others notice within a heartbeat timeout and elect one
// within a few election timeouts. It returns at once while a leader is
// known, and gives up with ErrNotLeader when ctx ends or after
// Timers.leaderWait.
func (c *Coordinator) WaitLeader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timers.leaderWait())
	defer cancel()
	tick := time.NewTicker(c.timers.Heartbeat / 10)
	defer tick.Stop()
	start := time.Now()
	for {
		if c.IsLeader() {
			return c.cfg.GRPCAddr, nil
		}
		if addr, ok := c.LeaderAddr(); ok && addr != c.cfg.GRPCAddr {
			return addr, nil
		}
		select {
		case <-c.ctx.Done():
			return "", ErrClosed
		case <-ctx.Done():
			return "", fmt.Errorf("%w (waited %v)", c.notLeader(), time.Since(start).Round(time.Millisecond))
		case <-tick.C:
		}
	}
}

// notLeader explains why this tracker cannot take a decision.
func (c *Coordinator) notLeader() error {
	if c.raft.State() == raft.Leader {
		c.mu.Lock()
		ready := c.readyTerm == c.raft.CurrentTerm()
		c.mu.Unlock()
		if !ready {
			return fmt.Errorf("%w: elected, its term not established yet", ErrNotLeader)
		}
	}
	addr, ok := c.LeaderAddr()
	switch {
	case ok && addr != c.cfg.GRPCAddr:
		return fmt.Errorf("%w: leader is %s", ErrNotLeader, addr)
	case ok:
		return fmt.Errorf("%w: this tracker lost contact with a quorum", ErrNotLeader)
	}
	return fmt.Errorf("%w: no leader elected", ErrNotLeader)
}

// maybeEstablish starts establish when this node leads a term that it has
// not established yet and no barrier is in flight. The loop calls it on
// every reconcile, and watch nudges the loop on every leader change.
func (c *Coordinator) maybeEstablish() {
	if c.raft.State() != raft.Leader {
		return
	}
	term := c.raft.CurrentTerm()
	c.mu.Lock()
	if c.readyTerm == term || c.settling {
		c.mu.Unlock()
		return
	}
	c.settling = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.establish(term)
		c.mu.Lock()
		c.settling = false
		c.mu.Unlock()
	}()
}

// establish commits and applies a barrier and then marks term established.
// The barrier fails if leadership is lost first, at the latest when the
// leader lease runs out without a quorum; if it lands in a later term than
// term (leadership lost and won again meanwhile), IsLeader stays false until
// the next call establishes that term.
func (c *Coordinator) establish(term uint64) {
	start := time.Now()
	f := c.raft.Barrier(c.timers.Heartbeat)
	done := make(chan error, 1)
	go func() { done <- f.Error() }() // resolved by commit, lost leadership or shutdown
	select {
	case <-c.ctx.Done():
		return
	case err := <-done:
		if err != nil {
			c.log.Info("consensus: elected but could not establish the term", "term", term, "err", err)
			return
		}
	}
	c.mu.Lock()
	c.readyTerm = term
	c.mu.Unlock()
	c.log.Info("consensus: leading", "term", term, "established_after", time.Since(start).Round(time.Millisecond))
}

// handOver asks Raft to transfer leadership to the most up-to-date other
// voter and waits until this node hears from the new leader, at most
// leaderWait (a failed transfer is tried again within that time). It does
// nothing on a follower or a leader without other voters. A transfer that
// does not finish is logged: the others then elect as they would after a
// crash. It returns the new leader's node ID, or "".
func (c *Coordinator) handOver() string {
	if c.raft == nil || c.raft.State() != raft.Leader {
		return ""
	}
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return ""
	}
	others := 0
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != c.id {
			others++
		}
	}
	if others == 0 {
		return ""
	}
	start := time.Now()
	deadline := start.Add(c.timers.leaderWait())
	var lastErr error
	for time.Now().Before(deadline) {
		if c.raft.State() == raft.Leader {
			done := make(chan error, 1)
			f := c.raft.LeadershipTransfer()
			go func() { done <- f.Error() }()
			select {
			case lastErr = <-done:
			case <-time.After(time.Until(deadline)):
				lastErr = errors.New("no answer")
			}
			if lastErr != nil && c.raft.State() == raft.Leader {
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
		// Stepped down: wait to hear from the new leader.
		if _, id := c.raft.LeaderWithID(); id != "" && string(id) != c.id {
			c.log.Info("stopping: leadership handed over", "to", string(id), "took", time.Since(start).Round(time.Millisecond))
			return string(id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.log.Warn("stopping: leadership transfer did not finish; the others will elect after their heartbeat timeout",
		"waited", time.Since(start).Round(time.Millisecond), "err", lastErr)
	return ""
}
