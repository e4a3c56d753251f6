package consensus

import (
	"context"
	"errors"
	"testing"
	"time"
)

// voterCount is the number of voters in nd's latest Raft configuration
// (committed or not); 0 before it has one.
func voterCount(nd *node) int {
	cf := nd.c.raft.GetConfiguration()
	if cf.Error() != nil {
		return 0
	}
	return len(cf.Configuration().Servers)
}

// A fresh cluster's first leader is reported only once its term is
// established, that is once the bootstrap configuration is on a majority:
// cut off at the first moment it reports IsLeader, it must leave the
// others able to elect a leader, and WaitLeader on either side must tell
// what it knows.
func TestCutAtFirstReportedLeader(t *testing.T) {
	cl := newCluster(t, 68, 3, 3)
	var first *node
	deadline := time.Now().Add(15 * time.Second)
	for first == nil {
		if ls := leaders(cl.nodes); len(ls) > 0 {
			first = ls[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(time.Millisecond)
	}
	cl.net.cut(map[string]int{first.host: 1})
	with := 0
	for _, nd := range cl.nodes {
		if voterCount(nd) == 3 {
			with++
		}
	}
	if with < 2 {
		t.Fatalf("%s reported IsLeader with the configuration on %d of 3 trackers", first.host, with)
	}

	majority := others(cl.nodes, first)
	next := waitOneLeader(t, majority)
	for _, nd := range majority {
		if addr, err := nd.c.WaitLeader(t.Context()); err != nil || addr != next.grpc {
			t.Errorf("WaitLeader on %s = %q, %v; want %s", nd.host, addr, err, next.grpc)
		}
	}
	waitFor(t, "the cut-off leader to step down", func() bool { return !first.c.IsLeader() })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if addr, err := first.c.WaitLeader(ctx); !errors.Is(err, ErrNotLeader) {
		t.Errorf("WaitLeader on the cut-off tracker = %q, %v; want ErrNotLeader", addr, err)
	}

	cl.net.cut(nil)
	waitOneLeader(t, cl.nodes)
	waitFor(t, "every tracker to hold the configuration", func() bool {
		for _, nd := range cl.nodes {
			if voterCount(nd) != 3 {
				return false
			}
		}
		return true
	})
}
