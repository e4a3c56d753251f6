package tracker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
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
