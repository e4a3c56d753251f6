package clustertest

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// Fault scenarios: every node is a process in its own network namespace (netns_test.go),
// a client loop uploads and downloads through the trackers during the fault, and in the
// end every acknowledged file downloads with its bytes from every storage of its group.
// DEPOT_FULL=1 makes each phase longer.

// TestFaultStorageCutOff cuts a storage off the network (its group peer, the tracker and
// the client all lose it at once, with no RST) while the client loop runs, and heals it.
// The tracker marks it OFFLINE and places uploads on its peer; after the heal it comes
// back ACTIVE, catches up by replication, and holds every file of the group.
func TestFaultStorageCutOff(t *testing.T) {
	c := startLab(t, labSpec{trackers: 1, groups: []int{2}})
	n, hold := faultScale()
	workers, size := loadShape(200 << 10)
	l := startLoad(t, c.newClient(c.trackerAddrs()), workers, size, true)
	c.settle(l, "before the fault", n, 0)

	victim := c.storages[0]
	l.setDown(victim.net.ip, true)
	victim.net.cut()
	c.logf("%s cut off", victim.name)
	c.waitStates("the cut storage OFFLINE", 30*time.Second, func(k string) string {
		if k == victim.addr {
			return "OFFLINE"
		}
		return "ACTIVE"
	}, c.trackers...)
	l.probe(t, "with a storage cut off", n, c.all)
	time.Sleep(hold) // the fault lasts; the loop's uploads that went to it wait

	victim.net.heal()
	c.logf("%s healed", victim.name)
	c.waitActive("the healed storage ACTIVE again", c.trackers...)
	l.setDown(victim.net.ip, false)
	c.settle(l, "after the heal", n, 0)
	c.verifyEverywhere(l.finish(t, c.all), 60*time.Second)
}

// TestFaultTrackerCutOff runs three trackers and cuts the leader off (the tracker the
// client asks first) while the client loop runs, then heals it. The other two elect a
// leader and keep every storage ACTIVE, the client fails over to them, and after the heal
// the cut tracker sees every storage ACTIVE again with exactly one leader among the three.
func TestFaultTrackerCutOff(t *testing.T) {
	c := startLab(t, labSpec{trackers: 3, groups: []int{2}})
	leader := c.waitOneLeader("one leader among the trackers", c.trackers...)
	var others []*labNode
	for _, tr := range c.trackers {
		if tr != leader {
			others = append(others, tr)
		}
	}
	n, hold := faultScale()
	workers, size := loadShape(200 << 10)
	l := startLoad(t, c.newClient(c.trackerAddrs(leader)), workers, size, true)
	c.settle(l, "before the fault", n, 0)

	leader.net.cut()
	c.logf("%s (the leader) cut off", leader.name)
	c.waitOneLeader("a new leader among the other two", others...)
	c.waitActive("every storage still ACTIVE on the other two", others...)
	l.probe(t, "with the leader cut off", n, c.all)
	c.settle(l, "with the leader cut off", n, hold)

	leader.net.heal()
	c.logf("%s healed", leader.name)
	c.waitActive("every storage ACTIVE on every tracker after the heal", c.trackers...)
	c.waitOneLeader("one leader among the three after the heal", c.trackers...)
	c.settle(l, "after the heal", n, 0)
	c.verifyEverywhere(l.finish(t, c.all), 60*time.Second)
}

// TestFaultRollingRestart restarts every node in turn (SIGTERM, then start again, as an
// operator upgrading the cluster would) while the client loop runs: two trackers, then the
// two storages of a group. Each node is back (every storage ACTIVE on every tracker, one
// leader) before the next one stops, and the cluster takes uploads while each is down.
func TestFaultRollingRestart(t *testing.T) {
	c := startLab(t, labSpec{trackers: 2, groups: []int{2}})
	c.waitOneLeader("one leader among the trackers", c.trackers...)
	n, hold := faultScale()
	workers, size := loadShape(200 << 10)
	l := startLoad(t, c.newClient(c.trackerAddrs()), workers, size, true)
	c.settle(l, "before the restarts", n, 0)

	for _, nd := range append(append([]*labNode{}, c.trackers...), c.storages...) {
		isStorage := nd.group != ""
		if isStorage {
			l.setDown(nd.net.ip, true)
		}
		nd.stop(30 * time.Second)
		c.logf("%s stopped", nd.name)
		l.probe(t, "while "+nd.name+" is down", n, c.all)
		c.settle(l, "while "+nd.name+" is down", n, hold)
		nd.start()
		c.waitActive("every storage ACTIVE on every tracker after "+nd.name+" restarted", c.trackers...)
		c.waitOneLeader("one leader after "+nd.name+" restarted", c.trackers...)
		if isStorage {
			l.setDown(nd.net.ip, false)
		}
		c.settle(l, "after "+nd.name+" restarted", n, 0)
	}
	c.verifyEverywhere(l.finish(t, c.all), 60*time.Second)
}

// TestFaultStorePathFull fills the store path of one storage of a group for real: its
// store path is a small tmpfs, and the test writes a file there that leaves just over
// reserved_storage_space free, so uploads and replicas to it run out of space in the middle
// of a write (ENOSPC) and then fall below the reserve. A group is as full as its fullest
// storage (its files go to all of them), so the tracker then places uploads in the other
// group. The client loop uploads files of unannounced sizes meanwhile: no call may fail,
// and no partial file may stay behind. Once the space is freed the storage catches up.
func TestFaultStorePathFull(t *testing.T) {
	// Room for every file the loop gives the group (about half of them) once the filler is
	// gone: the CI run writes some tens of MiB, DEPOT_FULL=1 some hundreds.
	size := int64(64 << 20)
	if fullRun() {
		size = 1 << 30
	}
	mnt := mountTmpfs(t, size)
	c := startLab(t, labSpec{trackers: 1, groups: []int{2, 1}, storePath: func(i int) string {
		if i == 0 {
			return mnt
		}
		return ""
	}})
	n, hold := faultScale()
	// Sizes up to 512 KiB in CI too: more than the 256 KiB left above the reserve, so
	// that writes run out of space in the middle.
	workers, _ := loadShape(0)
	l := startLoad(t, c.newClient(c.trackerAddrs()), workers, func(i int) int { return 1000 + i*7919%(512<<10) }, false)
	c.settle(l, "before the fault", n, 0)

	full := c.storages[0]
	filler := fillTo(t, mnt, 256<<10)
	c.logf("%s: store path filled", full.name)
	l.probe(t, "with a store path full", n, c.all)
	c.settle(l, "with a store path full", n, hold)
	// The disk really filled: writes to it failed with ENOSPC, not only the reserve check.
	logb, err := os.ReadFile(full.log)
	if err != nil {
		t.Fatal(err)
	}
	enospc := bytes.Count(logb, []byte("no space left on device"))
	c.logf("%s: %d writes failed with ENOSPC", full.name, enospc)
	if enospc == 0 {
		t.Errorf("%s logged no write that failed with ENOSPC: the store path did not fill", full.name)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	c.logf("%s: space freed", full.name)
	c.settle(l, "after the space was freed", n, 0)
	c.verifyEverywhere(l.finish(t, c.all), 60*time.Second)
}
