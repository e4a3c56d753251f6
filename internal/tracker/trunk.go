package tracker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
)

// proposeTimeout bounds one replicated decision made by the sweep.
const proposeTimeout = 5 * time.Second

// AssignTrunkServers is the leader's part of use_trunk_file: every group whose trunk server
// is unset or not ACTIVE gets its first ACTIVE writable storage (key order) as trunk
// server, through the coordinator so that every tracker agrees. Run calls it after each
// sweep; it does nothing on a follower or without use_trunk_file.
func (s *Server) AssignTrunkServers(ctx context.Context) {
	if !s.cfg.Tracker.UseTrunkFile || !s.coord.IsLeader() {
		return
	}
	for _, cmd := range s.trunkProposals() {
		pctx, cancel := context.WithTimeout(ctx, proposeTimeout)
		err := s.coord.Propose(pctx, cmd)
		cancel()
		if err != nil {
			s.log.Warn("proposing trunk server", "err", err)
			s.event(clusterpage.LevelWarn, "", "", "trunk server not assigned", err.Error())
			return
		}
	}
}

// trunkProposals returns the set_trunk_server decisions the groups need now.
func (s *Server) trunkProposals() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	slices.Sort(names)
	var out [][]byte
	for _, n := range names {
		g := s.groups[n]
		if cur := g.storages[g.meta.TrunkServer]; cur != nil && cur.Status == meta.StatusActive {
			continue
		}
		for _, st := range g.sorted() {
			if writable(st) {
				cmd, _ := json.Marshal(command{Op: opSetTrunkServer, Group: n, Key: st.Key, At: s.now().UnixNano(), Epoch: g.meta.TrunkEpoch + 1})
				out = append(out, cmd)
				break
			}
		}
	}
	return out
}

// applyTrunkServer records a group's trunk server and epoch; the caller holds s.mu. It is
// idempotent (the log is replayed from the start over the persisted groups): the epoch is
// in the decision, and only a decision with a higher epoch than the group's changes it.
func (s *Server) applyTrunkServer(c command) error {
	g := s.groups[c.Group]
	if g == nil {
		return nil
	}
	switch {
	case c.Epoch == 0: // a decision logged before epochs: the server only
		if g.meta.TrunkServer == c.Key {
			return nil
		}
	case c.Epoch <= g.meta.TrunkEpoch: // replayed, or superseded by a later decision
		return nil
	default:
		g.meta.TrunkEpoch = c.Epoch
	}
	g.meta.TrunkServer = c.Key
	g.version++
	s.log.Info("trunk server", "group", c.Group, "storage", c.Key)
	if err := s.cfg.Meta.PutGroup(g.meta); err != nil {
		return fmt.Errorf("%w: group %s: %w", ErrPersist, c.Group, err)
	}
	return nil
}
