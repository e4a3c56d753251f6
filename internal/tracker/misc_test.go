package tracker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

func TestRestartKeepsGroupsAndStorages(t *testing.T) {
	e := start(t, nil)
	a := e.active("g1", "127.0.0.2", 900)
	b := e.active("g1", "127.0.0.3", 900)
	c := e.active("g2", "127.0.0.4", 900)
	e.uploads(3, "") // moves cursors
	e.clock.Add(9 * time.Second)
	e.beat("g1", b, false)
	e.beat("g2", c, false)
	e.clock.Add(time.Second)
	e.srv.Sweep() // a OFFLINE
	e.restart()

	want := map[string]string{a: "OFFLINE", b: "ACTIVE", c: "ACTIVE"}
	for key, st := range want {
		g := "g1"
		if key == c {
			g = "g2"
		}
		if got := e.status(g, key); got != st {
			t.Fatalf("%s after restart: %s, want %s", key, got, st)
		}
	}
	// Answers before any heartbeat arrives; the round-robin cursors survived.
	sameList(t, e.uploads(2, ""), []string{"g2 " + c + " 0", "g1 " + b + " 0"})
	// The saved last heartbeats still count: b and c go OFFLINE when they are due.
	e.clock.Add(10 * time.Second)
	e.srv.Sweep()
	if got := e.status("g1", b); got != "OFFLINE" {
		t.Fatalf("b after its interval: %s", got)
	}
	if got := e.beat("g1", a, false).GetStatus(); got != stActive {
		t.Fatalf("a heartbeats after restart: %v", got)
	}
}

func TestParameters(t *testing.T) {
	e := start(t, func(c *Config) {
		c.Tracker.ReservedStorageSpace = conf.Reserved{Percent: 20}
		c.Tracker.UseTrunkFile = true
		c.Tracker.StorePath = 2
	})
	r, err := e.cli.GetParameters(e.ctx(), &trackerpb.GetParametersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range r.GetParams() {
		lines = append(lines, p.GetKey()+"="+p.GetValue())
	}
	want := []string{
		"use_storage_id=0", "id_type_in_filename=ip", "trust_storage_server_id=1",
		"response_ip_addr_size=auto", "storage_ip_changed_auto_adjust=1",
		"storage_sync_file_max_delay=86400", "store_path=2", "reserved_storage_space=20.00%",
		"use_trunk_file=1", "slot_min_size=256", "slot_max_size=8388608",
		"trunk_alloc_alignment_size=0", "trunk_file_size=67108864", "trunk_create_file_advance=0",
		"trunk_create_file_time_base=02:00", "trunk_create_file_interval=86400",
		"trunk_create_file_space_threshold=0", "trunk_init_check_occupying=0",
		"trunk_init_reload_from_binlog=0", "trunk_free_space_merge=0", "delete_unused_trunk_files=0",
		"trunk_compress_binlog_min_interval=0", "trunk_compress_binlog_interval=0",
		"trunk_compress_binlog_time_base=03:00", "trunk_binlog_max_backups=0",
		"store_slave_file_use_link=0",
	}
	sameList(t, lines, want)
	// Join carries the same list.
	if j := e.join("g1", "127.0.0.2", nil); len(j.GetParameters()) != len(want) {
		t.Fatalf("join parameters: %d", len(j.GetParameters()))
	}
	if len(r.GetStorageIds()) != 0 {
		t.Fatalf("storage ids without use_storage_id: %v", r.GetStorageIds())
	}
}

func TestReservedFormat(t *testing.T) {
	tests := []struct {
		r    conf.Reserved
		want string
	}{
		{conf.Reserved{Percent: 20}, "20.00%"},
		{conf.Reserved{Percent: 12.5}, "12.50%"},
		{conf.Reserved{Bytes: 1024 << 20}, "1024MB"},
		{conf.Reserved{Bytes: 1000}, "1000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := reserved(tt.r); got != tt.want {
				t.Fatalf("reserved = %q", got)
			}
		})
	}
}

// withStorageIDs uses FastDFS's shipped storage_ids.conf. Its first two lines have no port
// and its third has one, which Depot's parser rejects (all or none), so the first two get
// FastDFS's default port 23000 here.
func withStorageIDs(t *testing.T) func(*Config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fastdfs-conf", "storage_ids.conf"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("192.168.0.196\n", "192.168.0.196:23000\n", "192.168.0.197\n", "192.168.0.197:23000\n").Replace(string(data))
	ids, err := conf.ParseStorageIDs("storage_ids.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) {
		c.Tracker.UseStorageID, c.Tracker.IDTypeInFilename = true, "id"
		c.StorageIDs = ids
	}
}

func TestStorageIDs(t *testing.T) {
	e := start(t, withStorageIDs(t))
	// Known by address: the id and group come from storage_ids.conf.
	j := e.join("", "192.168.0.196", nil)
	if j.GetStorageKey() != "100001" || j.GetGroup() != "group1" {
		t.Fatalf("join by address: key %q group %q", j.GetStorageKey(), j.GetGroup())
	}
	// Known by the id it sends (trust_storage_server_id).
	j = e.join("group1", "127.0.0.5", func(r *trackerpb.JoinRequest) { r.StorageId = "100002" })
	if j.GetStorageKey() != "100002" {
		t.Fatalf("join by id: key %q", j.GetStorageKey())
	}
	tests := []struct {
		name string
		edit func(*trackerpb.JoinRequest)
		want codes.Code
	}{
		{"unknown address", func(r *trackerpb.JoinRequest) { r.Addr = "10.1.1.1" }, codes.PermissionDenied},
		{"unknown id", func(r *trackerpb.JoinRequest) { r.StorageId = "999" }, codes.PermissionDenied},
		{"wrong group", func(r *trackerpb.JoinRequest) { r.Group = "group2" }, codes.InvalidArgument},
		{"wrong port", func(r *trackerpb.JoinRequest) { r.StorageId, r.Port = "100003", 23000 }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &trackerpb.JoinRequest{Addr: "192.168.0.197", Port: 23000}
			tt.edit(req)
			_, err := e.cli.Join(e.ctx(), req)
			wantCode(t, err, tt.want)
		})
	}
	// rw=none: ACTIVE but never chosen for uploads or downloads. This one reports its IPv6
	// address, which storage ids allow.
	none := e.join("group1", "2409:8a20:42d:2f40:587a:4c47:72c0:ad8e", func(r *trackerpb.JoinRequest) { r.StorageId, r.Port = "100003", 23001 })
	e.beat("group1", "100001", false, 900)
	if got := e.beat("group1", none.GetStorageKey(), false, 900).GetStatus(); got != stActive {
		t.Fatalf("rw=none storage: %v", got)
	}
	for _, u := range e.uploads(3, "") {
		if !strings.Contains(u, " 100001 ") {
			t.Fatalf("upload to %s", u)
		}
	}
	// File names carry the id: the source is found by it.
	e.beat("group1", "100002", false, 900)
	id := fileIDFromServer(t, "group1", 100002, e.clock.Now().Unix())
	if got, err := fetchAll(e, id); got != "100002" || err != nil {
		t.Fatalf("fetch by id source = %q, %v", got, err)
	}
	p, err := e.cli.GetParameters(e.ctx(), &trackerpb.GetParametersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GetStorageIds()) != 3 || p.GetStorageIds()[2].GetRw() != conf.RWNone || p.GetParams()[1].GetValue() != "id" {
		t.Fatalf("parameters: %v", p)
	}
}

func TestDeleteStorage(t *testing.T) {
	e := start(t, nil)
	a := e.active("g1", "127.0.0.2", 900)
	b := e.active("g1", "127.0.0.3", 900)
	del := func(key string) error {
		_, err := e.cli.DeleteStorage(e.ctx(), &trackerpb.DeleteStorageRequest{Group: "g1", StorageKey: key})
		return err
	}
	wantCode(t, del(a), codes.FailedPrecondition) // alive
	wantCode(t, del("127.0.0.9:1"), codes.NotFound)
	e.clock.Add(9 * time.Second)
	e.beat("g1", b, false)
	e.clock.Add(time.Second)
	e.srv.Sweep()
	if err := del(a); err != nil {
		t.Fatal(err)
	}
	if got := e.status("g1", a); got != "DELETED" {
		t.Fatalf("after delete: %s", got)
	}
	wantCode(t, del(a), codes.NotFound)
	r := e.beat("g1", b, false)
	if !r.GetChanged() || len(r.GetMembers()) != 1 {
		t.Fatalf("member list after delete: %v", r.GetMembers())
	}
	_, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "g1", StorageKey: a})
	wantCode(t, err, codes.NotFound)
	// It may join again, as a new storage.
	if got := e.join("g1", "127.0.0.2", nil).GetStatus(); got != stOnline {
		t.Fatalf("rejoin after delete: %v", got)
	}
	// Deletion survives a restart.
	e.clock.Add(time.Minute)
	e.srv.Sweep()
	if err := del(a); err != nil {
		t.Fatal(err)
	}
	e.restart()
	if got := e.status("g1", a); got != "DELETED" {
		t.Fatalf("after restart: %s", got)
	}
}

// follower is a Coordinator that is not the leader.
type follower struct{ leader string }

func (f follower) IsLeader() bool                        { return false }
func (f follower) LeaderAddr() (string, bool)            { return f.leader, f.leader != "" }
func (f follower) Propose(context.Context, []byte) error { return errors.New("not leader") }
func (f follower) AddPeers([]string)                     {}
func (f follower) Peers() []Peer                         { return []Peer{{GRPCAddr: f.leader, Alive: true, Leader: true}} }
func (f follower) Close() error                          { return nil }

func TestDeleteOnFollower(t *testing.T) {
	leader := start(t, nil)
	a := leader.join("g1", "127.0.0.2", nil).GetStorageKey()
	leader.clock.Add(time.Minute)
	leader.srv.Sweep()
	del := func(e *env, ctx context.Context) error {
		_, err := e.cli.DeleteStorage(ctx, &trackerpb.DeleteStorageRequest{Group: "g1", StorageKey: a})
		return err
	}
	tests := []struct {
		name   string
		leader string
		ctx    context.Context
		want   codes.Code
		msg    string
	}{
		{"no leader known", "", t.Context(), codes.FailedPrecondition, `leader is ""`},
		{"already forwarded", leader.addr, metadata.AppendToOutgoingContext(t.Context(), forwardedKey, "1"), codes.FailedPrecondition, leader.addr},
		{"leader unreachable", "127.0.0.1:1", t.Context(), codes.Unavailable, ""},
		{"passed on to the leader", leader.addr, t.Context(), codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, func(c *Config) { c.Coordinator = follower{leader: tt.leader} })
			err := del(f, tt.ctx)
			wantCode(t, err, tt.want)
			if !strings.Contains(status.Convert(err).Message(), tt.msg) {
				t.Fatalf("message %q does not contain %q", status.Convert(err).Message(), tt.msg)
			}
		})
	}
	if got := leader.status("g1", a); got != "DELETED" {
		t.Fatalf("on the leader: %s", got)
	}
}

func TestTrackerInfoOnFollower(t *testing.T) {
	e := start(t, func(c *Config) { c.Coordinator = follower{leader: "127.0.0.7:22122"} })
	info, err := e.cli.TrackerInfo(e.ctx(), &trackerpb.TrackerInfoRequest{})
	if err != nil || info.GetIsLeader() || info.GetLeaderAddr() != "127.0.0.7:22122" || info.GetAddr() != "127.0.0.1:22122" {
		t.Fatalf("tracker info = %v, %v", info, err)
	}
}

// recorder is an Applier that keeps what it is given.
type recorder struct{ cmds []string }

func (r *recorder) Apply(cmd []byte) error { r.cmds = append(r.cmds, string(cmd)); return nil }

func TestNewCoordinatorGetsServerAsApplier(t *testing.T) {
	var got Applier
	e := start(t, func(c *Config) {
		c.NewCoordinator = func(a Applier) (Coordinator, error) { got = a; return NewSingle("x", a), nil }
	})
	if got != e.srv {
		t.Fatalf("applier = %v", got)
	}
	rec := &recorder{}
	c := NewSingle("127.0.0.1:1", rec)
	if err := c.Propose(t.Context(), []byte("x")); err != nil || len(rec.cmds) != 1 {
		t.Fatalf("propose: %v %v", err, rec.cmds)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Propose(ctx, []byte("y")); !errors.Is(err, context.Canceled) {
		t.Fatalf("propose with canceled ctx: %v", err)
	}
	if _, err := New(Config{Tracker: testTrackerConf(), Meta: e.cfg.Meta, NewCoordinator: func(Applier) (Coordinator, error) {
		return nil, errors.New("boom")
	}}); err == nil {
		t.Fatal("New with a failing coordinator succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	db, err := meta.Open(filepath.Join(dir, "x.db"), meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no meta", Config{Tracker: testTrackerConf()}},
		{"ids without file", Config{Tracker: func() conf.Tracker { c := testTrackerConf(); c.UseStorageID = true; return c }(), Meta: db}},
		{"no interval", Config{Tracker: conf.Tracker{}, Meta: db}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestToStatus(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{nil, codes.OK},
		{fmt.Errorf("x: %w", ErrInvalid), codes.InvalidArgument},
		{fmt.Errorf("x: %w", ErrUnknownGroup), codes.NotFound},
		{fmt.Errorf("x: %w", ErrUnknownStorage), codes.NotFound},
		{fmt.Errorf("x: %w", ErrNoStorage), codes.NotFound},
		{fmt.Errorf("x: %w", ErrNotAllowed), codes.PermissionDenied},
		{fmt.Errorf("x: %w", ErrNoSpace), codes.ResourceExhausted},
		{fmt.Errorf("x: %w", ErrBusy), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", ErrNotLeader), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", consensus.ErrNotLeader), codes.FailedPrecondition},
		{fmt.Errorf("x: %w", consensus.ErrClosed), codes.Unavailable},
		{fmt.Errorf("x: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{status.Error(codes.Unavailable, "y"), codes.Unavailable},
		{fmt.Errorf("x: %w", ErrPersist), codes.Internal},
		{errors.New("other"), codes.Internal},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := status.Code(toStatus(tt.err)); got != tt.want {
				t.Fatalf("code = %v", got)
			}
		})
	}
}

func TestCompareKeys(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"9", "10", -1},
		{"127.0.0.10:23000", "127.0.0.2:23000", 1},
		{"127.0.0.2:23001", "127.0.0.2:23000", 1},
		{"abc", "abd", -1},
		{"100001", "100001", 0},
	}
	for _, tt := range tests {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			if got := compareKeys(tt.a, tt.b); got != tt.want {
				t.Fatalf("compareKeys = %d", got)
			}
		})
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte(`{"op":"delete_storage","group":"g1","key":"127.0.0.2:23000"}`))
	f.Add([]byte(`{"op":"other"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCommand(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if c.Op != opDeleteStorage || c.Group == "" || c.Key == "" {
			t.Fatalf("accepted %+v", c)
		}
	})
}

func TestDeleteReplayIsIdempotent(t *testing.T) {
	e := start(t, nil)
	a := e.join("g1", "127.0.0.2", nil).GetStorageKey()
	e.clock.Add(time.Minute)
	e.srv.Sweep()
	cmd := fmt.Sprintf(`{"op":"delete_storage","group":"g1","key":%q,"at":%d}`, a, e.clock.Now().UnixNano())
	tests := []struct {
		name string
		cmd  string
		want string
	}{
		{"delete", cmd, "DELETED"},
		{"replayed", cmd, "DELETED"},
		{"unknown group", `{"op":"delete_storage","group":"g9","key":"x","at":1}`, "DELETED"},
	}
	for _, tt := range tests {
		if err := e.srv.Apply([]byte(tt.cmd)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := e.status("g1", a); got != tt.want {
			t.Fatalf("%s: %s", tt.name, got)
		}
	}
	e.clock.Add(time.Second)
	e.join("g1", "127.0.0.2", nil) // a new storage now
	if err := e.srv.Apply([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	if got := e.status("g1", a); got != "ONLINE" {
		t.Fatalf("replay after rejoin: %s", got)
	}
	if err := e.srv.Apply([]byte("junk")); err == nil {
		t.Fatal("junk command applied")
	}
}

// addrCoord is a single coordinator that also reports its listeners.
type addrCoord struct{ Coordinator }

func (addrCoord) GossipAddr() string { return "127.0.0.1:22123" }
func (addrCoord) RaftAddr() string   { return "127.0.0.1:22124" }

func TestTrackerInfoAddrsFromCoordinator(t *testing.T) {
	e := start(t, func(c *Config) { c.Coordinator = addrCoord{NewSingle("127.0.0.1:22122", nil)} })
	info, err := e.cli.TrackerInfo(e.ctx(), &trackerpb.TrackerInfoRequest{})
	if err != nil || info.GetGossipAddr() != "127.0.0.1:22123" || info.GetRaftAddr() != "127.0.0.1:22124" ||
		!info.GetIsLeader() || len(info.GetPeers()) != 1 {
		t.Fatalf("tracker info = %v, %v", info, err)
	}
}

// expectCoord records what the Server tells it about peers.
type expectCoord struct {
	Coordinator
	mu     sync.Mutex
	expect int
	peers  []string
}

func (c *expectCoord) SetExpect(n int) { c.mu.Lock(); c.expect = max(c.expect, n); c.mu.Unlock() }
func (c *expectCoord) AddPeers(a []string) {
	c.mu.Lock()
	c.peers = append(c.peers, a...)
	c.mu.Unlock()
}

func TestStoragesTellTheCoordinatorAboutTrackers(t *testing.T) {
	ec := &expectCoord{Coordinator: NewSingle("127.0.0.1:22122", nil)}
	e := start(t, func(c *Config) { c.Coordinator = ec })
	list := []string{"127.0.0.1:22122", "127.0.0.2:22122", "127.0.0.3:22122"}
	key := e.join("g1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.TrackerServers = list[:2] }).GetStorageKey()
	if _, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "g1", StorageKey: key, TrackerServers: list}); err != nil {
		t.Fatal(err)
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	if ec.expect != 3 || len(ec.peers) != 5 {
		t.Fatalf("expect %d, peers %v", ec.expect, ec.peers)
	}
}
