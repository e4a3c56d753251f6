package tracker

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/depotfs/depot/proto/trackerpb"
)

const (
	stActive   = trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE
	stOnline   = trackerpb.StorageStatus_STORAGE_STATUS_ONLINE
	stWaitSync = trackerpb.StorageStatus_STORAGE_STATUS_WAIT_SYNC
	stSyncing  = trackerpb.StorageStatus_STORAGE_STATUS_SYNCING
)

func TestNewStorageWithNothingToCopyIsActiveWithinTwoHeartbeats(t *testing.T) {
	tests := []struct {
		name     string
		existing int  // members before the new storage
		hasFiles bool // whether they have files
	}{
		{"empty group", 0, false},
		{"members without files", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			for i := range tt.existing {
				key := e.active("group1", "127.0.0."+string(rune('2'+i)), 900)
				e.beat("group1", key, tt.hasFiles, 900)
			}
			j := e.join("group1", "127.0.0.9", nil)
			if j.GetStatus() != stOnline {
				t.Fatalf("join status = %v", j.GetStatus())
			}
			if got := e.beat("group1", j.GetStorageKey(), false, 900).GetStatus(); got != stActive {
				t.Fatalf("after first heartbeat: %v", got)
			}
			if n := len(j.GetMembers()); n != tt.existing+1 {
				t.Fatalf("join members = %d", n)
			}
		})
	}
}

func TestNewStorageWaitsForSyncSource(t *testing.T) {
	e := start(t, nil)
	src := e.active("group1", "127.0.0.2", 900)
	e.beat("group1", src, true, 900)
	j := e.join("group1", "127.0.0.3", nil)
	if j.GetStatus() != stWaitSync {
		t.Fatalf("join status = %v", j.GetStatus())
	}
	key := j.GetStorageKey()
	var me *trackerpb.StorageBrief
	for _, m := range j.GetMembers() {
		if m.GetKey() == key {
			me = m
		}
	}
	if me.GetSyncSourceKey() != src || me.GetSyncUntilTs() != e.clock.Now().Unix() {
		t.Fatalf("sync source %q until %d", me.GetSyncSourceKey(), me.GetSyncUntilTs())
	}
	steps := []struct {
		name string
		sync []*trackerpb.SyncProgress
		want trackerpb.StorageStatus
	}{
		{"no report", nil, stWaitSync},
		{"report from another peer", []*trackerpb.SyncProgress{{PeerKey: "x", LastSyncedTs: 5}}, stWaitSync},
		{"progress from source", []*trackerpb.SyncProgress{{PeerKey: src, LastSyncedTs: 5}}, stSyncing},
		{"copy done", []*trackerpb.SyncProgress{{PeerKey: src, LastSyncedTs: 9, InitialCopyDone: true}}, stOnline},
		{"next heartbeat", nil, stActive},
	}
	for _, s := range steps {
		resp, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: key, Sync: s.sync})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != s.want {
			t.Fatalf("%s: status %v, want %v", s.name, resp.GetStatus(), s.want)
		}
	}
	if len(e.srv.groups["group1"].storages[key].Sync) == 0 {
		t.Fatal("sync progress not kept")
	}
}

func TestSyncSourceDeletedPicksNone(t *testing.T) {
	e := start(t, nil)
	src := e.active("group1", "127.0.0.2", 900)
	e.beat("group1", src, true, 900)
	key := e.join("group1", "127.0.0.3", nil).GetStorageKey()
	e.clock.Add(time.Minute)
	e.srv.Sweep() // src OFFLINE (and the waiting one is not touched)
	if got := e.status("group1", key); got != "WAIT_SYNC" {
		t.Fatalf("waiting storage after sweep: %s", got)
	}
	if _, err := e.cli.DeleteStorage(e.ctx(), &trackerpb.DeleteStorageRequest{Group: "group1", StorageKey: src}); err != nil {
		t.Fatal(err)
	}
	if got := e.beat("group1", key, false).GetStatus(); got != stOnline {
		t.Fatalf("after source deleted: %v", got)
	}
}

func TestStorageKnownByReportedAddress(t *testing.T) {
	e := start(t, nil)
	j := e.join("group1", "127.0.0.9", nil)
	if j.GetStorageKey() != "127.0.0.9:23000" || j.GetYourAddr() != "127.0.0.1" {
		t.Fatalf("key %q your_addr %q", j.GetStorageKey(), j.GetYourAddr())
	}
	j = e.join("group1", "", nil)
	if j.GetStorageKey() != "127.0.0.1:23000" {
		t.Fatalf("empty addr: key %q", j.GetStorageKey())
	}
}

func TestJoinRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*trackerpb.JoinRequest)
		want codes.Code
	}{
		{"bad group", func(r *trackerpb.JoinRequest) { r.Group = "bad/group" }, codes.InvalidArgument},
		{"ipv6 addr", func(r *trackerpb.JoinRequest) { r.Addr = "::1" }, codes.InvalidArgument},
		{"hostname", func(r *trackerpb.JoinRequest) { r.Addr = "localhost" }, codes.InvalidArgument},
		{"relative http_url", func(r *trackerpb.JoinRequest) { r.HttpUrl = "/x" }, codes.InvalidArgument},
		{"ftp http_url", func(r *trackerpb.JoinRequest) { r.HttpUrl = "ftp://h:1" }, codes.InvalidArgument},
		{"port 0", func(r *trackerpb.JoinRequest) { r.Port = 0 }, codes.InvalidArgument},
		{"300 paths", func(r *trackerpb.JoinRequest) { r.StorePathCount = 300 }, codes.InvalidArgument},
		{"subdir count differs", func(r *trackerpb.JoinRequest) { r.SubdirCount = 128 }, codes.InvalidArgument},
		{"fewer paths than group", func(r *trackerpb.JoinRequest) { r.StorePathCount = 1 }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			e.join("group1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 })
			req := &trackerpb.JoinRequest{Group: "group1", Addr: "127.0.0.3", Port: 23000, StorePathCount: 2, SubdirCount: 256}
			tt.edit(req)
			_, err := e.cli.Join(e.ctx(), req)
			wantCode(t, err, tt.want)
		})
	}
}

func TestHeartbeatRejects(t *testing.T) {
	e := start(t, nil)
	key := e.join("group1", "127.0.0.2", nil).GetStorageKey()
	tests := []struct {
		name string
		req  *trackerpb.HeartbeatRequest
		want codes.Code
	}{
		{"unknown group", &trackerpb.HeartbeatRequest{Group: "nope", StorageKey: key}, codes.NotFound},
		{"unknown storage", &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: "1.2.3.4:1"}, codes.NotFound},
		{"path out of range", &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: key,
			Disk: []*trackerpb.DiskUsage{{PathIndex: 1, TotalBytes: 10, FreeBytes: 1}}}, codes.InvalidArgument},
		{"free above total", &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: key,
			Disk: []*trackerpb.DiskUsage{{PathIndex: 0, TotalBytes: 10, FreeBytes: 11}}}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.cli.Heartbeat(e.ctx(), tt.req)
			wantCode(t, err, tt.want)
		})
	}
}

func TestHeartbeatChangedFlag(t *testing.T) {
	e := start(t, nil)
	a := e.active("group1", "127.0.0.2", 900)
	if e.beat("group1", a, false).GetChanged() {
		t.Fatal("changed with nothing new")
	}
	e.active("group1", "127.0.0.3", 900)
	r := e.beat("group1", a, false)
	if !r.GetChanged() || len(r.GetMembers()) != 2 {
		t.Fatalf("after a new member: changed %v members %d", r.GetChanged(), len(r.GetMembers()))
	}
	if e.beat("group1", a, false).GetChanged() {
		t.Fatal("changed twice for one change")
	}
}

func TestOfflineSweep(t *testing.T) {
	e := start(t, nil)
	a := e.active("group1", "127.0.0.2", 900)
	b := e.active("group1", "127.0.0.3", 900)
	id := fileID(t, "group1", "127.0.0.2", e.clock.Now().Unix()-100000, 0)

	e.clock.Add(9 * time.Second)
	e.beat("group1", b, false)
	e.srv.Sweep()
	if got := e.status("group1", a); got != "ACTIVE" {
		t.Fatalf("after 9 s: %s", got)
	}
	e.clock.Add(time.Second)
	e.srv.Sweep()
	if got := e.status("group1", a); got != "OFFLINE" {
		t.Fatalf("after 10 s: %s", got)
	}
	for range 4 {
		st, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
		if err != nil || st.GetStorage().GetKey() != b {
			t.Fatalf("upload went to %v, %v", st.GetStorage().GetKey(), err)
		}
		f, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: id, All: true})
		if err != nil || len(f.GetStorages()) != 1 || f.GetStorages()[0].GetKey() != b {
			t.Fatalf("download from %v, %v", f.GetStorages(), err)
		}
	}
	// A returning storage comes back with its next heartbeat.
	if got := e.beat("group1", a, false).GetStatus(); got != stActive {
		t.Fatalf("returning storage: %v", got)
	}
	// Both offline: no upload target at all.
	e.clock.Add(time.Minute)
	e.srv.Sweep()
	_, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
	wantCode(t, err, codes.NotFound)
	_, err = e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: id})
	wantCode(t, err, codes.NotFound)
	// A join brings an OFFLINE storage back as ONLINE, a heartbeat makes it ACTIVE.
	if got := e.join("group1", "127.0.0.2", nil).GetStatus(); got != stOnline {
		t.Fatalf("rejoin: %v", got)
	}
}

func TestRunSweepsOnItsOwn(t *testing.T) {
	e := start(t, func(c *Config) { c.CheckInterval = time.Millisecond })
	a := e.active("group1", "127.0.0.2", 900)
	e.clock.Add(11 * time.Second)
	done := make(chan error, 1)
	ctx, cancel := contextWithCancel(t)
	go func() { done <- e.srv.Run(ctx) }()
	// Silence counts from Run's start: time passes until it is check_active_interval long.
	for e.status("group1", a) != "OFFLINE" {
		if ctx.Err() != nil {
			t.Fatal("test context ended")
		}
		e.clock.Add(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestHeartbeatWritesOnlyWhatMatters(t *testing.T) {
	e := start(t, nil) // check_active_interval 10 s: beat times are saved every 5 s
	key := e.active("g1", "127.0.0.2", 900)
	saved := func() (time.Time, uint64) {
		t.Helper()
		st, err := e.srv.cfg.Meta.Storage("g1", key)
		if err != nil {
			t.Fatal(err)
		}
		return st.LastHeartbeat, st.Disk[0].Free
	}
	t0 := e.clock.Now()
	steps := []struct {
		name     string
		advance  time.Duration
		free     []uint64
		wantBeat time.Duration // saved beat time since t0
		wantFree uint64
	}{
		{"beat only", 2 * time.Second, nil, 0, 900},
		{"disk changed", time.Second, []uint64{800}, 3 * time.Second, 800},
		{"same disk", time.Second, []uint64{800}, 3 * time.Second, 800},
		{"half the interval since the last write", 4 * time.Second, nil, 8 * time.Second, 800},
	}
	for _, s := range steps {
		e.clock.Add(s.advance)
		e.beat("g1", key, false, s.free...)
		beat, free := saved()
		if !beat.Equal(t0.Add(s.wantBeat)) || free != s.wantFree {
			t.Fatalf("%s: saved beat %v free %d", s.name, beat.Sub(t0), free)
		}
	}
}

// A tracker that did not run for longer than check_active_interval (a paused process, a
// starved CPU) has read no heartbeat meanwhile, though the storages sent them: its late
// sweep must not mark them OFFLINE; it counts their silence from when it resumed.
func TestLateSweepCountsSilenceFromResume(t *testing.T) {
	e := start(t, nil) // check_active_interval 10 s, sweep every 1 s
	a := e.active("group1", "127.0.0.2", 900)
	prev := e.clock.Now()
	e.clock.Add(11 * time.Second) // no sweep ran for 11 s
	e.srv.noteLate(prev)
	e.srv.Sweep()
	if got := e.status("group1", a); got != "ACTIVE" {
		t.Fatalf("after the tracker resumed: %s; want ACTIVE", got)
	}
	e.clock.Add(9 * time.Second)
	e.srv.Sweep()
	if got := e.status("group1", a); got != "ACTIVE" {
		t.Fatalf("9 s after the tracker resumed: %s; want ACTIVE", got)
	}
	e.clock.Add(time.Second) // silent for check_active_interval since the tracker resumed
	e.srv.Sweep()
	if got := e.status("group1", a); got != "OFFLINE" {
		t.Fatalf("10 s after the tracker resumed with no heartbeat: %s; want OFFLINE", got)
	}
	// Sweeps on time, or late by less than half the interval however often, change
	// nothing of the rule.
	for _, gap := range []time.Duration{time.Second, 5 * time.Second} {
		b := e.active("group1", "127.0.0.3", 900)
		for range 10 * time.Second / gap {
			prev = e.clock.Now()
			e.clock.Add(gap)
			e.srv.noteLate(prev)
		}
		e.srv.Sweep()
		if got := e.status("group1", b); got != "OFFLINE" {
			t.Fatalf("10 s without a heartbeat, sweeps %v apart: %s; want OFFLINE", gap, got)
		}
	}
}
