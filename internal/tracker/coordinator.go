package tracker

import (
	"context"
	"sync"

	"github.com/depotfs/depot/internal/consensus"
)

// Coordinator is the tracker's view of its peers and its leader. Methods never block on the
// network for longer than their ctx; IsLeader, LeaderAddr and Peers read cached state. The
// Server closes a Coordinator only when it made it (Config.NewCoordinator or single-node).
type Coordinator interface {
	IsLeader() bool
	// LeaderAddr returns the leader tracker's gRPC address.
	LeaderAddr() (grpcAddr string, ok bool)
	// Propose replicates a leader decision to every tracker's Applier; only the leader may
	// propose (else an error naming the leader). It returns once the decision is committed.
	Propose(ctx context.Context, cmd []byte) error
	// AddPeers tells the coordinator about tracker gRPC addresses learned from storages.
	AddPeers(grpcAddrs []string)
	// Peers returns the known trackers with their liveness.
	Peers() []Peer
	Close() error
}

// Peer is a tracker a Coordinator knows (GRPCAddr, Alive, Leader). It is the consensus
// package's type, so that *consensus.Coordinator is a Coordinator as it is.
type Peer = consensus.Peer

// expecter is a Coordinator that can be told how many trackers a new cluster has: the
// length of the storages' tracker_server lists.
type expecter interface{ SetExpect(n int) }

// leaderWaiter is a Coordinator that can wait through a leaderless window (an election in
// progress) for a leader. WaitLeader returns the leader's gRPC address, this tracker's own
// when it leads, or an error once ctx ends or an election should have ended; it returns at
// once while a leader is known.
type leaderWaiter interface {
	WaitLeader(ctx context.Context) (grpcAddr string, err error)
}

var _ leaderWaiter = (*consensus.Coordinator)(nil)

// addPeers hands the tracker_server list a storage reported to the coordinator.
func (s *Server) addPeers(list []string) {
	if len(list) == 0 {
		return
	}
	if e, ok := s.coord.(expecter); ok {
		e.SetExpect(len(list))
	}
	s.coord.AddPeers(list)
}

// Applier receives replicated decisions, in the same order on every tracker. *Server is one.
type Applier interface {
	Apply(cmd []byte) error
}

// single is the Coordinator of a tracker that is alone: always the leader, decisions
// applied at once.
type single struct {
	addr string
	mu   sync.Mutex // orders Apply calls
	a    Applier
}

// NewSingle returns the Coordinator of a lone tracker at grpcAddr: it is always the leader
// and Propose calls a.Apply directly.
func NewSingle(grpcAddr string, a Applier) Coordinator {
	return &single{addr: grpcAddr, a: a}
}

func (c *single) IsLeader() bool             { return true }
func (c *single) LeaderAddr() (string, bool) { return c.addr, true }
func (c *single) AddPeers([]string)          {}
func (c *single) Close() error               { return nil }
func (c *single) Peers() []Peer              { return []Peer{{GRPCAddr: c.addr, Alive: true, Leader: true}} }
func (c *single) Propose(ctx context.Context, cmd []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.a.Apply(cmd)
}
