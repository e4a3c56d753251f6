package consensus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestElectionAndFailover(t *testing.T) {
	cl := newCluster(t, 41, 3, 3)
	first := waitOneLeader(t, cl.nodes)
	for _, nd := range cl.nodes {
		if n := len(nd.c.Peers()); n != 3 {
			t.Errorf("%s knows %d peers, want 3: %+v", nd.host, n, nd.c.Peers())
		}
	}
	cl.stop(first)
	rest := cl.running()
	second := waitOneLeader(t, rest)
	if second == first {
		t.Fatal("stopped leader is still leader")
	}
	waitFor(t, "the dead leader to show as not alive", func() bool {
		for _, p := range second.c.Peers() {
			if p.GRPCAddr == first.grpc {
				return !p.Alive && !p.Leader
			}
		}
		return false
	})
}

func TestPartitionMinorityNeverLeads(t *testing.T) {
	tests := []struct {
		name          string
		isolateLeader bool
	}{
		{"leader isolated", true},
		{"follower isolated", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := newCluster(t, 44+3*i, 3, 3)
			ld := waitOneLeader(t, cl.nodes)
			lone := others(cl.nodes, ld)[0]
			if tt.isolateLeader {
				lone = ld
			}
			majority := others(cl.nodes, lone)
			cl.net.cut(map[string]int{lone.host: 1})

			// From the cut on, never two leaders at once. A cut-off leader
			// gives up as soon as its heartbeats fail and must never lead
			// again in the minority; the majority elects exactly one.
			steppedDown := !tt.isolateLeader
			var until time.Time
			giveUp := time.Now().Add(15 * time.Second)
			for until.IsZero() || time.Now().Before(until) {
				loneLeads := lone.c.IsLeader()
				if loneLeads && steppedDown {
					t.Fatalf("isolated %s reports IsLeader", lone.host)
				}
				steppedDown = steppedDown || !loneLeads
				if ls := leaders(cl.nodes); len(ls) > 1 {
					t.Fatalf("two leaders at once: %s and %s", ls[0].host, ls[1].host)
				}
				if ls := leaders(majority); len(ls) == 1 && until.IsZero() {
					until = time.Now().Add(2 * time.Second) // keep watching the minority
				}
				if until.IsZero() && time.Now().After(giveUp) {
					t.Fatal("no leader in the majority")
				}
				time.Sleep(5 * time.Millisecond)
			}
			err := lone.c.Propose(t.Context(), []byte("minority"))
			if !errors.Is(err, ErrNotLeader) {
				t.Fatalf("Propose on the minority: %v, want ErrNotLeader", err)
			}
			propose(t, majority, "majority")

			cl.net.cut(nil)
			waitFor(t, "the healed node to catch up", func() bool {
				return slices.Equal(lone.app.got(), []string{"majority"})
			})
			waitOneLeader(t, cl.nodes)
		})
	}
}

func TestProposeOrderAndFollowerError(t *testing.T) {
	cl := newCluster(t, 51, 3, 3)
	var want []string
	var last *node
	for i := range 20 {
		cmd := fmt.Sprintf("cmd-%02d", i)
		want = append(want, cmd)
		last = propose(t, cl.nodes, cmd)
	}
	if got := last.app.got(); !slices.Equal(got, want) {
		t.Fatalf("leader applied %v before Propose returned, want %v", got, want)
	}
	for _, nd := range cl.nodes {
		waitFor(t, "every node to apply the log in order", func() bool { return slices.Equal(nd.app.got(), want) })
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitOneLeader(t, cl.nodes).c.Propose(ctx, []byte("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Propose with a cancelled ctx: %v, want context.Canceled", err)
	}

	// A follower names the leader (retried only if leadership moves meanwhile).
	for attempt := 0; ; attempt++ {
		ld := waitOneLeader(t, cl.nodes)
		err := others(cl.nodes, ld)[0].c.Propose(t.Context(), []byte("nope"))
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("Propose on follower: %v; want ErrNotLeader", err)
		}
		if strings.Contains(err.Error(), ld.grpc) {
			break
		}
		if attempt == 5 {
			t.Fatalf("Propose on follower: %v; want it to name %s", err, ld.grpc)
		}
	}
	for _, nd := range cl.nodes {
		if got := nd.app.got(); !slices.Equal(got, want) {
			t.Fatalf("%s applied %v; refused proposals must not be applied", nd.host, got)
		}
	}
}

func TestApplierErrorReachesProposer(t *testing.T) {
	cl := newCluster(t, 54, 1, 1)
	ld := waitOneLeader(t, cl.nodes)
	if err := ld.c.Propose(t.Context(), []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := ld.c.Propose(t.Context(), []byte("refuse")); !errors.Is(err, errRefused) {
		t.Fatalf("Propose(refuse) = %v, want the Applier's error", err)
	}
}

func TestRestartRejoins(t *testing.T) {
	cl := newCluster(t, 55, 3, 3)
	ld := waitOneLeader(t, cl.nodes)
	propose(t, cl.running(), "before")
	fl := others(cl.nodes, ld)[0]
	waitFor(t, "follower to apply", func() bool { return len(fl.app.got()) == 1 })
	cl.stop(fl)
	propose(t, cl.running(), "while-down")
	// Restart from the same data dir and ports, told about nobody: it must
	// find the others from what it persisted.
	cl.start(fl, 0)
	waitFor(t, "restarted node to replay and catch up", func() bool {
		return slices.Equal(fl.app.got(), []string{"before", "while-down"})
	})
	waitOneLeader(t, cl.nodes)
	waitFor(t, "restarted node to see every tracker alive", func() bool {
		n := 0
		for _, p := range fl.c.Peers() {
			if p.Alive {
				n++
			}
		}
		return n == 3
	})
}

func TestRestartOnNewAddresses(t *testing.T) {
	cl := newCluster(t, 65, 3, 3)
	ld := waitOneLeader(t, cl.nodes)
	fl := others(cl.nodes, ld)[0]
	cl.stop(fl)
	// New gossip and Raft ports: the leader must update the voter's address.
	fl.gossipPort, fl.raftPort = 0, 0
	cl.start(fl, 0)
	fl.c.AddPeers([]string{ld.grpc})
	propose(t, cl.running(), "after-move")
	waitFor(t, "leader to record the new raft address", func() bool {
		cf := ld.c.raft.GetConfiguration()
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == fl.grpc {
				return string(s.Address) == fl.c.RaftAddr()
			}
		}
		return false
	})
	waitFor(t, "moved node to catch up", func() bool {
		return slices.Equal(fl.app.got(), []string{"after-move"})
	})
	waitOneLeader(t, cl.nodes)
}

func TestExpect(t *testing.T) {
	t.Run("single bootstraps alone", func(t *testing.T) {
		cl := newCluster(t, 58, 1, 1)
		ld := waitOneLeader(t, cl.nodes)
		if err := ld.c.Propose(t.Context(), []byte("solo")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("zero waits for SetExpect", func(t *testing.T) {
		cl := newCluster(t, 59, 2, 0)
		waitFor(t, "both to see each other", func() bool {
			for _, nd := range cl.nodes {
				for _, p := range nd.c.Peers() {
					if !p.Alive {
						return false
					}
				}
				if len(nd.c.Peers()) != 2 {
					return false
				}
			}
			return true
		})
		if ls := leaders(cl.nodes); len(ls) != 0 {
			t.Fatal("a leader without an expected cluster size")
		}
		cl.nodes[0].c.SetExpect(2)
		cl.nodes[1].c.SetExpect(2)
		waitOneLeader(t, cl.nodes)
	})
	t.Run("late joiner becomes voter", func(t *testing.T) {
		cl := newCluster(t, 61, 2, 2)
		ld := waitOneLeader(t, cl.nodes)
		late := &node{host: "127.0.0.63", grpc: "127.0.0.63:22122", dir: t.TempDir()}
		cl.mu.Lock()
		cl.nodes = append(cl.nodes, late)
		cl.mu.Unlock()
		cl.start(late, 2)
		late.c.AddPeers([]string{ld.grpc})
		waitFor(t, "late joiner in the configuration", func() bool {
			cf := ld.c.raft.GetConfiguration()
			return cf.Error() == nil && len(cf.Configuration().Servers) == 3
		})
		waitOneLeader(t, cl.nodes)
	})
}

func TestConfigValidate(t *testing.T) {
	good := Config{BindAddr: "127.0.0.1", GRPCAddr: "127.0.0.1:22122", DataDir: "/tmp/x"}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"bind", func(c *Config) { c.BindAddr = "nowhere" }},
		{"gossip port", func(c *Config) { c.GossipPort = -1 }},
		{"raft port", func(c *Config) { c.RaftPort = 65536 }},
		{"grpc", func(c *Config) { c.GRPCAddr = "nohostport" }},
		{"data dir", func(c *Config) { c.DataDir = "" }},
		{"expect", func(c *Config) { c.Expect = -1 }},
		{"lease", func(c *Config) { c.Timers = Timers{Heartbeat: time.Second, LeaderLease: 2 * time.Second} }},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mod(&c)
			if err := c.Validate(); !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want ErrConfig", err)
			}
		})
	}
}

// TestCloseHandsOverLeadership: a leader that stops cleanly hands leadership over before Close
// returns: another tracker is Raft leader then, without the heartbeat timeout a crash costs.
func TestCloseHandsOverLeadership(t *testing.T) {
	cl := newCluster(t, 47, 3, 3)
	first := waitOneLeader(t, cl.nodes)
	rest := others(cl.nodes, first)
	waitFor(t, "every follower to hear from the leader", func() bool {
		for _, nd := range rest {
			if _, id := nd.c.raft.LeaderWithID(); string(id) != first.c.id {
				return false
			}
		}
		return true
	})
	c := first.c
	cl.stop(first)
	if c.handedTo == "" {
		t.Fatal("the leader's Close handed leadership to no one")
	}
	var to *node
	for _, nd := range rest {
		if nd.c.id == c.handedTo {
			to = nd
		}
	}
	if to == nil {
		t.Fatalf("leadership handed to %q, not one of the other trackers", c.handedTo)
	}
	if st := to.c.raft.State(); st != raft.Leader {
		t.Errorf("right after the leader's Close, %s (handed leadership) is %v, want Leader", to.host, st)
	}
	waitOneLeader(t, rest)
}
