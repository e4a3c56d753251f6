package testcluster_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/testcluster"
)

func TestKilledTrackerChangesNothingForClients(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client()
	before := uploadN(t, cl, 4)
	// The client talks to the first tracker first; stop it.
	c.Trackers[0].Stop()
	after := uploadN(t, cl, 8)
	for _, id := range append(before, after...) {
		if _, err := download(cl, id); err != nil {
			t.Errorf("download %s with a tracker down: %v", id, err)
		}
	}
	if g := groupCounts(t, after); g["group1"] == 0 || g["group2"] == 0 {
		t.Errorf("files per group with a tracker down = %v; want both groups used", g)
	}
	// The remaining trackers still see every storage ACTIVE.
	c.WaitAllActive()
}

func TestTrackerRestartedFromBboltKnowsCluster(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 2})
	tr := c.Trackers[1]
	tr.Stop()
	// No storage reports anything while it is down and after it restarts.
	for _, s := range c.Storages {
		s.Stop()
	}
	tr.Restart()
	st, err := c.Statuses(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Storages {
		if _, ok := st[s.Key()]; !ok {
			t.Errorf("restarted tracker does not know storage %s (knows %v)", s.Key(), st)
		}
	}
	resp, err := c.List(tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetGroups()) != 2 {
		t.Errorf("restarted tracker knows %d groups; want 2", len(resp.GetGroups()))
	}
	for _, s := range c.Storages {
		s.Restart()
	}
	c.WaitAllActive()
}

func TestStoppedStorageGoesOffline(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	cl := c.Client()
	ids := uploadN(t, cl, 8)
	down := c.Storages[0] // group1
	down.Stop()
	stopped := time.Now()
	c.Eventually("the stopped storage OFFLINE on every tracker", testcluster.CheckActiveInterval+10*time.Second, func() error {
		for _, tr := range c.Trackers {
			st, err := c.Statuses(tr)
			if err != nil {
				return err
			}
			if st[down.Key()] != "OFFLINE" {
				return fmt.Errorf("tracker %s: %s is %s", tr.Addr, down.Key(), st[down.Key()])
			}
		}
		return nil
	})
	t.Logf("OFFLINE everywhere %v after the stop", time.Since(stopped).Round(10*time.Millisecond))
	// No upload goes to it.
	more := uploadN(t, cl, 12)
	if p := placement(t, more); p[down.Host] != 0 {
		t.Errorf("files per storage after %s stopped = %v", down.Host, p)
	}
	// Files of its group mate still download; its own files (not replicated yet) are
	// not fetched from it.
	for _, id := range append(ids, more...) {
		if placement(t, []string{id})[down.Host] == 1 {
			continue
		}
		if _, err := download(cl, id); err != nil {
			t.Errorf("download %s: %v", id, err)
		}
	}
	// It comes back.
	down.Restart()
	c.WaitAllActive()
	for _, id := range ids {
		if _, err := download(cl, id); err != nil {
			t.Errorf("download %s after the restart: %v", id, err)
		}
	}
}

func TestNewLeaderWhenLeaderDies(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	old := waitOneLeader(t, c)
	old.Stop()
	c.Eventually("a new leader", 30*time.Second, func() error {
		l := c.Leaders()
		if len(l) != 1 || l[0] == old {
			return fmt.Errorf("leaders %v", names(l))
		}
		return nil
	})
	// Clients never noticed.
	uploadN(t, c.Client(), 4)
}

func TestPartitionNeverTwoLeaders(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{})
	leader := waitOneLeader(t, c)
	var others []int
	for _, tr := range c.Trackers {
		if tr != leader {
			others = append(others, tr.Index)
		}
	}
	// Sample the leaders continuously while the old leader is cut off and after healing.
	stop := make(chan struct{})
	twice := make(chan []string, 1)
	go func() {
		for {
			select {
			case <-stop:
				close(twice)
				return
			default:
			}
			if l := c.Leaders(); len(l) > 1 {
				select {
				case twice <- names(l):
				default:
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	c.Partition(others, []int{leader.Index}) // majority first
	c.Eventually("a leader on the majority side and none on the minority side", 30*time.Second, func() error {
		l := c.Leaders()
		if len(l) != 1 || l[0] == leader {
			return fmt.Errorf("leaders %v", names(l))
		}
		return nil
	})
	c.Heal()
	c.Eventually("one leader after healing", 30*time.Second, func() error {
		if l := c.Leaders(); len(l) != 1 {
			return fmt.Errorf("leaders %v", names(l))
		}
		return nil
	})
	close(stop)
	if l, ok := <-twice; ok {
		t.Errorf("two leaders at once: %v", l)
	}
}

func TestTrackersFindEachOtherThroughStorages(t *testing.T) {
	// Two trackers, no storage yet: each knows only itself.
	c := testcluster.Start(t, testcluster.Options{Trackers: 2, Groups: []string{}})
	for _, tr := range c.Trackers {
		if n := len(tr.Peers()); n != 1 {
			t.Fatalf("tracker %s knows %d trackers before any storage; want 1", tr.Addr, n)
		}
	}
	// A storage whose tracker_server list names both introduces them.
	c.AddStorage("group1", 0, "") // "" = next storage address
	c.Eventually("both trackers know each other and agree on a leader", 30*time.Second, func() error {
		for _, tr := range c.Trackers {
			var addrs []string
			for _, p := range tr.Peers() {
				addrs = append(addrs, p.GRPCAddr)
			}
			slices.Sort(addrs)
			if !slices.Equal(addrs, c.TrackerAddrs()) {
				return fmt.Errorf("tracker %s knows %v", tr.Addr, addrs)
			}
		}
		if l := c.Leaders(); len(l) != 1 {
			return fmt.Errorf("leaders %v", names(l))
		}
		return nil
	})
}

func waitOneLeader(t *testing.T, c *testcluster.Cluster) *testcluster.Tracker {
	t.Helper()
	var leader *testcluster.Tracker
	c.Eventually("one leader", 30*time.Second, func() error {
		l := c.Leaders()
		if len(l) != 1 {
			return fmt.Errorf("leaders %v", names(l))
		}
		leader = l[0]
		return nil
	})
	return leader
}

func names(trs []*testcluster.Tracker) []string {
	var out []string
	for _, tr := range trs {
		out = append(out, tr.Addr)
	}
	return out
}

func TestStoragesFollowGroupMembership(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 2, Groups: []string{"group1"}})
	a, b := c.Storages[0], c.Storages[1]
	status := func() (string, error) {
		for _, m := range a.Node().Members() {
			if m.GetKey() == b.Key() {
				return m.GetStatus().String(), nil
			}
		}
		return "", fmt.Errorf("%s does not list %s", a, b)
	}
	c.Eventually("the group mate ACTIVE in the membership", 10*time.Second, func() error {
		if s, err := status(); err != nil || s != "STORAGE_STATUS_ACTIVE" {
			return fmt.Errorf("%s, %v", s, err)
		}
		return nil
	})
	b.Stop()
	c.Eventually("the stopped mate OFFLINE in the membership", 10*time.Second, func() error {
		if s, err := status(); err != nil || s != "STORAGE_STATUS_OFFLINE" {
			return fmt.Errorf("%s, %v", s, err)
		}
		return nil
	})
	b.Restart()
	c.Eventually("the mate ACTIVE again", 10*time.Second, func() error {
		if s, err := status(); err != nil || s != "STORAGE_STATUS_ACTIVE" {
			return fmt.Errorf("%s, %v", s, err)
		}
		return nil
	})
}
