package consensus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// network is a partition switch: hosts on different sides cannot talk.
type network struct {
	mu   sync.Mutex
	side map[string]int
}

func (n *network) cut(sides map[string]int) {
	n.mu.Lock()
	n.side = sides
	n.mu.Unlock()
}

func (n *network) reachable(self string) func(string) bool {
	return func(peer string) bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.side[self] == n.side[peer]
	}
}

// recorder is an Applier that remembers commands in order.
type recorder struct {
	mu   sync.Mutex
	cmds []string
}

// errRefused is what a recorder answers to the command "refuse".
var errRefused = errors.New("refused")

func (r *recorder) Apply(cmd []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, string(cmd))
	if string(cmd) == "refuse" {
		return errRefused
	}
	return nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.cmds)
}

type node struct {
	host, grpc, dir      string
	gossipPort, raftPort int
	app                  *recorder
	c                    *Coordinator
}

// cluster runs coordinators in-process, each on its own 127.0.0.x.
type cluster struct {
	t     *testing.T
	net   *network
	mu    sync.Mutex
	nodes []*node
}

func newCluster(t *testing.T, base, n, expect int) *cluster {
	t.Helper()
	cl := &cluster{t: t, net: &network{}}
	for i := range n {
		host := fmt.Sprintf("127.0.0.%d", base+i)
		nd := &node{host: host, grpc: host + ":22122", dir: t.TempDir()}
		cl.nodes = append(cl.nodes, nd)
	}
	for _, nd := range cl.nodes {
		cl.start(nd, expect)
	}
	cl.introduce()
	t.Cleanup(func() {
		for _, nd := range cl.nodes {
			if nd.c != nil {
				_ = nd.c.Close()
			}
		}
	})
	return cl
}

func testLogger() *slog.Logger {
	if os.Getenv("CONSENSUS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func (cl *cluster) start(nd *node, expect int) {
	cl.t.Helper()
	nd.app = &recorder{}
	c, err := New(Config{
		NodeID:     nd.grpc,
		BindAddr:   nd.host,
		GossipPort: nd.gossipPort,
		RaftPort:   nd.raftPort,
		GRPCAddr:   nd.grpc,
		DataDir:    nd.dir,
		Expect:     expect,
		Resolve:    cl.resolve,
		Applier:    nd.app,
		Timers:     FastTimers(),
		Reachable:  cl.net.reachable(nd.host),
		Logger:     testLogger(),
	})
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.mu.Lock()
	nd.c = c
	nd.gossipPort = portOf(cl.t, c.GossipAddr())
	nd.raftPort = portOf(cl.t, c.RaftAddr())
	cl.mu.Unlock()
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	var host string
	var port int
	if _, err := fmt.Sscanf(addr, "%s", &host); err != nil {
		t.Fatal(err)
	}
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			if _, err := fmt.Sscanf(addr[i+1:], "%d", &port); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	return port
}

// resolve plays TrackerInfo: gRPC address -> gossip address.
func (cl *cluster) resolve(_ context.Context, grpc string) (string, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, nd := range cl.nodes {
		if nd.grpc == grpc && nd.c != nil {
			return nd.c.GossipAddr(), nil
		}
	}
	return "", fmt.Errorf("no tracker at %s", grpc)
}

// introduce tells every node every tracker address, as storages would.
func (cl *cluster) introduce() {
	var all []string
	for _, nd := range cl.nodes {
		all = append(all, nd.grpc)
	}
	for _, nd := range cl.nodes {
		if nd.c != nil {
			nd.c.AddPeers(all)
		}
	}
}

func (cl *cluster) stop(nd *node) {
	cl.t.Helper()
	if err := nd.c.Close(); err != nil {
		cl.t.Logf("close %s: %v", nd.host, err)
	}
	cl.mu.Lock()
	nd.c = nil
	cl.mu.Unlock()
}

func (cl *cluster) running() []*node {
	var out []*node
	for _, nd := range cl.nodes {
		if nd.c != nil {
			out = append(out, nd)
		}
	}
	return out
}

// leaders returns the nodes among ns that report IsLeader.
func leaders(ns []*node) []*node {
	var out []*node
	for _, nd := range ns {
		if nd.c.IsLeader() {
			out = append(out, nd)
		}
	}
	return out
}

// waitOneLeader waits until exactly one of ns is leader and all of ns name
// it as leader, and returns it.
func waitOneLeader(t *testing.T, ns []*node) *node {
	t.Helper()
	var ld *node
	waitFor(t, "one agreed leader", func() bool {
		ls := leaders(ns)
		if len(ls) != 1 {
			return false
		}
		for _, nd := range ns {
			if a, ok := nd.c.LeaderAddr(); !ok || a != ls[0].grpc {
				return false
			}
		}
		ld = ls[0]
		return true
	})
	return ld
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func others(ns []*node, not *node) []*node {
	var out []*node
	for _, nd := range ns {
		if nd != not {
			out = append(out, nd)
		}
	}
	return out
}

// propose proposes cmd on whichever of ns leads, retrying while leadership
// moves (a loaded test machine can delay heartbeats past the lease). It
// retries only errors that prove the command was not appended.
func propose(t *testing.T, ns []*node, cmd string) *node {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ld := waitOneLeader(t, ns)
		err := ld.c.Propose(t.Context(), []byte(cmd))
		if err == nil {
			return ld
		}
		if !errors.Is(err, ErrNotLeader) || time.Now().After(deadline) {
			t.Fatalf("Propose(%s) on %s: %v", cmd, ld.host, err)
		}
		if errors.Is(err, raft.ErrLeadershipLost) {
			// The outcome is unknown (a loaded machine starves a leader past its
			// 250 ms lease). The next leader, once established, has applied every
			// committed entry: the command is there, or it is lost and goes again.
			if nl := waitOneLeader(t, ns); slices.Contains(nl.app.got(), cmd) {
				return nl
			}
		}
	}
}
