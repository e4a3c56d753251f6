package consensus

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/depotfs/depot/internal/membership"
)

// rejoinEvery is how many reconcile periods pass between attempts to
// rejoin known trackers that gossip does not see alive.
const rejoinEvery = 5

// loop reacts to gossip events, AddPeers/SetExpect nudges and a ticker.
func (c *Coordinator) loop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.timers.Reconcile)
	defer tick.Stop()
	events := c.ml.Events()
	for {
		select {
		case <-c.ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			c.recordMember(ev.Member)
			if ev.Kind == membership.EventLeave {
				continue
			}
		case <-tick.C:
		case <-c.kick:
		}
		c.reconcile()
	}
}

// watch tracks which voters the leader fails to heartbeat (for IsLeader)
// and wakes the loop on leader changes.
func (c *Coordinator) watch(ch <-chan raft.Observation) {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case o := <-ch:
			newLeader := false
			c.mu.Lock()
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				c.failing[d.PeerID] = time.Now()
			case raft.ResumedHeartbeatObservation:
				delete(c.failing, d.PeerID)
			case raft.PeerObservation:
				// Added or removed: its heartbeats start afresh (and a new heartbeat
				// loop never reports a resume for failures of the old one).
				delete(c.failing, d.Peer.ID)
			case raft.LeaderObservation:
				clear(c.failing)
				newLeader = true
			}
			c.mu.Unlock()
			if newLeader {
				c.nudge() // if this node won, the loop establishes its term now
			}
		}
	}
}

// reconcile publishes this node's Raft state, bootstraps a fresh cluster
// when enough trackers are present, establishes a newly won term and adds
// new trackers as voters when leader, and (re)joins trackers that gossip
// does not see.
func (c *Coordinator) reconcile() {
	bootstrapped := c.publishState()
	if !bootstrapped {
		c.maybeBootstrap()
	}
	c.maybeEstablish()
	if c.raft.State() == raft.Leader {
		c.addVoters()
	}
	c.maybeRejoin()
}

// publishState gossips the Bootstrapped flag once this node has Raft state.
func (c *Coordinator) publishState() bool {
	c.mu.Lock()
	has := c.hasState
	c.mu.Unlock()
	if !has && c.raft.LastIndex() > 0 {
		has = true
	}
	c.mu.Lock()
	c.hasState = has
	pub := c.published
	c.mu.Unlock()
	if has && !pub {
		meta := membership.Meta{GRPCAddr: c.cfg.GRPCAddr, RaftAddr: c.raftAddr, Bootstrapped: true}
		if err := c.ml.UpdateMeta(meta, c.timers.Heartbeat); err != nil {
			c.log.Warn("consensus: gossip bootstrapped flag", "err", err)
		} else {
			c.mu.Lock()
			c.published = true
			c.mu.Unlock()
		}
	}
	return has
}

// aliveTrackers returns alive gossip members that carry a Raft address.
func (c *Coordinator) aliveTrackers() []membership.Member {
	var out []membership.Member
	for _, m := range c.ml.Members() {
		if m.Alive && m.Meta.RaftAddr != "" {
			out = append(out, m)
		}
	}
	return out
}

// maybeBootstrap implements bootstrap-expect: with at least Expect fresh
// trackers in sight, none of them in a cluster yet, the one with the
// lowest node ID bootstraps a configuration with all of them as voters.
func (c *Coordinator) maybeBootstrap() {
	c.mu.Lock()
	expect := c.expect
	c.mu.Unlock()
	alive := c.aliveTrackers()
	if expect <= 0 || len(alive) < expect {
		return
	}
	if _, leader := c.raft.LeaderWithID(); leader != "" {
		return
	}
	var servers []raft.Server
	for _, m := range alive {
		if m.Meta.Bootstrapped {
			return // a cluster exists; its leader will add us
		}
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.Name), Address: raft.ServerAddress(m.Meta.RaftAddr)})
	}
	if alive[0].Name != c.id {
		return // members are sorted by name: the lowest bootstraps
	}
	c.log.Info("consensus: bootstrapping cluster", "voters", len(servers), "expect", expect)
	if err := c.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		c.log.Warn("consensus: bootstrap", "err", err)
	}
	c.mu.Lock()
	c.hasState = true
	c.mu.Unlock()
}

// addVoters adds alive trackers missing from the configuration (or whose
// Raft address changed). Dead trackers are never removed: a partitioned
// tracker must be able to come back.
func (c *Coordinator) addVoters() {
	cf := c.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	have := make(map[raft.ServerID]raft.ServerAddress)
	for _, s := range cf.Configuration().Servers {
		have[s.ID] = s.Address
	}
	for _, m := range c.aliveTrackers() {
		id, addr := raft.ServerID(m.Name), raft.ServerAddress(m.Meta.RaftAddr)
		if have[id] == addr {
			continue
		}
		c.log.Info("consensus: adding voter", "id", id, "addr", addr)
		if err := c.raft.AddVoter(id, addr, 0, 2*c.timers.Heartbeat).Error(); err != nil {
			c.log.Warn("consensus: add voter", "id", id, "err", err)
			return
		}
	}
}

// recordMember remembers (and persists) a tracker's addresses.
func (c *Coordinator) recordMember(m membership.Member) {
	if m.Meta.GRPCAddr == "" || m.Name == c.id {
		return
	}
	p := peerRecord{ID: m.Name, GossipAddr: m.Addr, GRPCAddr: m.Meta.GRPCAddr, RaftAddr: m.Meta.RaftAddr}
	c.mu.Lock()
	same := c.peers[p.ID] == p
	c.peers[p.ID] = p
	delete(c.seeds, p.GRPCAddr)
	c.mu.Unlock()
	if !same {
		if err := c.store.putPeer(p); err != nil {
			c.log.Warn("consensus: persist peer", "id", p.ID, "err", err)
		}
	}
}

// maybeRejoin starts one background attempt at a time to resolve seeds
// and join known trackers that gossip does not see alive.
func (c *Coordinator) maybeRejoin() {
	alive := make(map[string]bool)
	for _, m := range c.ml.Members() {
		if m.Alive {
			alive[m.Name] = true
			alive[m.Meta.GRPCAddr] = true
		}
	}
	c.mu.Lock()
	var gossip, seeds []string
	for _, p := range c.peers {
		if !alive[p.ID] && p.GossipAddr != "" {
			gossip = append(gossip, p.GossipAddr)
		}
	}
	for a := range c.seeds {
		if !alive[a] {
			seeds = append(seeds, a)
		}
	}
	due := time.Since(c.lastRejoin) >= rejoinEvery*c.timers.Reconcile
	if c.joining || (len(gossip) == 0 && len(seeds) == 0) || !due {
		c.mu.Unlock()
		return
	}
	c.joining = true
	c.lastRejoin = time.Now()
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			c.joining = false
			c.mu.Unlock()
		}()
		c.join(gossip, seeds)
	}()
}

// join resolves seed gRPC addresses to gossip addresses and joins them all.
func (c *Coordinator) join(gossip, seeds []string) {
	for _, s := range seeds {
		if c.cfg.Resolve == nil {
			break
		}
		ctx, cancel := context.WithTimeout(c.ctx, 2*c.timers.Heartbeat)
		g, err := c.cfg.Resolve(ctx, s)
		cancel()
		if err != nil {
			c.log.Debug("consensus: resolve tracker", "grpc", s, "err", err)
			continue
		}
		gossip = append(gossip, g)
	}
	if len(gossip) == 0 || c.ctx.Err() != nil {
		return
	}
	if _, err := c.ml.Join(gossip); err != nil {
		c.log.Debug("consensus: join", "addrs", gossip, "err", err)
	}
}

func sortPeers(ps []Peer) {
	slices.SortFunc(ps, func(a, b Peer) int { return strings.Compare(a.GRPCAddr, b.GRPCAddr) })
}
