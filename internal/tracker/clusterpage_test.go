package tracker

import (
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/proto/trackerpb"
)

// TestClusterViewIsListGroups: the page's document carries what ListGroups answers (what
// fdfs monitor prints): groups, storages, states, disk per store path, sync progress.
func TestClusterViewIsListGroups(t *testing.T) {
	e := start(t, nil)
	a := e.active("group1", "127.0.0.2", 900)
	e.join("group2", "127.0.0.3", func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 })
	_, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "group2", StorageKey: "127.0.0.3:23000",
		Disk: []*trackerpb.DiskUsage{{PathIndex: 0, TotalBytes: 1000, FreeBytes: 700}, {PathIndex: 1, TotalBytes: 2000, FreeBytes: 300}},
		Sync: []*trackerpb.SyncProgress{{PeerKey: "127.0.0.9:23000", LastSyncedTs: 1_749_999_990, LagFiles: 4, LagBytes: 4096}}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.srv.ClusterView()
	if err != nil {
		t.Fatal(err)
	}
	if v.Now != e.clock.Now().Unix() || v.Tracker.Addr != "127.0.0.1:22122" || !v.Tracker.IsLeader || len(v.Events) != 0 {
		t.Fatalf("view: now %d, tracker %+v, events %+v", v.Now, v.Tracker, v.Events)
	}
	if len(v.Groups) != 2 || v.Groups[0].Name != "group1" || v.Groups[1].Name != "group2" {
		t.Fatalf("groups: %+v", v.Groups)
	}
	g1 := v.Groups[0]
	if g1.Active != 1 || g1.FreeBytes != 900 || g1.TotalBytes != 1000 || len(g1.Storages) != 1 {
		t.Fatalf("group1: %+v", g1)
	}
	s := g1.Storages[0]
	if s.Key != a || s.State != "ACTIVE" || s.Addr != "127.0.0.2" || s.Port != 23000 || s.HTTPURL != "http://127.0.0.2:8888" ||
		s.LastHeartbeat != e.clock.Now().Unix() || len(s.Paths) != 1 || s.Paths[0] != (clusterpage.Path{Index: 0, FreeBytes: 900, TotalBytes: 1000}) {
		t.Fatalf("group1's storage: %+v", s)
	}
	s = v.Groups[1].Storages[0]
	wantLag := clusterpage.Lag{Peer: "127.0.0.9:23000", LastSynced: 1_749_999_990, Files: 4, Bytes: 4096}
	if s.State != "ACTIVE" || s.FreeBytes != 1000 || s.TotalBytes != 3000 || len(s.Paths) != 2 || s.Paths[1].FreeBytes != 300 ||
		len(s.Lag) != 1 || s.Lag[0] != wantLag || s.LastSynced != 1_749_999_990 {
		t.Fatalf("group2's storage: %+v", s)
	}
}

// TestClusterViewEvents: the tracker keeps the warnings of its view (a storage OFFLINE, a
// join or heartbeat refused) and the recoveries, newest first, repeats coalesced.
func TestClusterViewEvents(t *testing.T) {
	e := start(t, nil)
	a := e.active("group1", "127.0.0.2", 900)

	e.clock.Add(10 * time.Second)
	e.srv.Sweep()
	ev := events(t, e)
	if len(ev) != 1 || ev[0].Level != clusterpage.LevelWarn || ev[0].Group != "group1" || ev[0].Storage != a ||
		ev[0].Message != "went OFFLINE" || ev[0].Detail != "no heartbeat for 10s (check_active_interval 10s)" || ev[0].Time != e.clock.Now().Unix() {
		t.Fatalf("after the sweep: %+v", ev)
	}

	e.clock.Add(time.Second)
	e.beat("group1", a, false)
	if ev = events(t, e); len(ev) != 2 || ev[0].Level != clusterpage.LevelInfo || ev[0].Message != "back ACTIVE" || ev[0].Storage != a {
		t.Fatalf("after the storage came back: %+v", ev)
	}

	for range 2 {
		_, err := e.cli.Join(e.ctx(), &trackerpb.JoinRequest{Group: "group1", Addr: "127.0.0.5", Port: 70000})
		if err == nil {
			t.Fatal("join with port 70000 accepted")
		}
	}
	ev = events(t, e)
	if len(ev) != 3 || ev[0].Message != "join refused" || ev[0].Storage != "127.0.0.5:70000" || ev[0].Count != 2 ||
		!strings.Contains(ev[0].Detail, "port 70000") {
		t.Fatalf("after two refused joins: %+v", ev)
	}

	if _, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: "127.0.0.6:23000"}); err == nil {
		t.Fatal("heartbeat of an unknown storage accepted")
	}
	if ev = events(t, e); len(ev) != 4 || ev[0].Message != "heartbeat refused" || ev[0].Storage != "127.0.0.6:23000" || ev[0].Level != clusterpage.LevelWarn {
		t.Fatalf("after a refused heartbeat: %+v", ev)
	}

	if _, err := e.cli.Leave(e.ctx(), &trackerpb.LeaveRequest{Group: "group1", StorageKey: a}); err != nil {
		t.Fatal(err)
	}
	if ev = events(t, e); ev[0].Message != "stopping" || ev[0].Level != clusterpage.LevelInfo || ev[0].Storage != a {
		t.Fatalf("after Leave: %+v", ev)
	}
}

func events(t *testing.T, e *env) []clusterpage.Event {
	t.Helper()
	v, err := e.srv.ClusterView()
	if err != nil {
		t.Fatal(err)
	}
	return v.Events
}
