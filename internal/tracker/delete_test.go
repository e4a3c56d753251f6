package tracker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

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

// electing is a Coordinator in a leaderless window: WaitLeader ends the election with
// winner (this tracker's address, another's, or "" for no leader within the wait).
type electing struct {
	self, winner string
	a            Applier

	mu      sync.Mutex
	elected bool
	waits   int
}

func (c *electing) IsLeader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elected && c.winner == c.self
}

func (c *electing) LeaderAddr() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.elected {
		return "", false
	}
	return c.winner, c.winner != ""
}

func (c *electing) WaitLeader(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits++
	if c.winner == "" {
		return "", errors.New("no leader elected")
	}
	c.elected = true
	return c.winner, nil
}

func (c *electing) Propose(_ context.Context, cmd []byte) error {
	if !c.IsLeader() {
		return errors.New("not leader")
	}
	return c.a.Apply(cmd)
}

func (c *electing) AddPeers([]string) {}
func (c *electing) Peers() []Peer     { return nil }
func (c *electing) Close() error      { return nil }

func TestDeleteWaitsForAnElection(t *testing.T) {
	leader := start(t, nil)
	offline := func(e *env, host string) string {
		key := e.join("g1", host, nil).GetStorageKey()
		e.clock.Add(time.Minute)
		e.srv.Sweep()
		return key
	}
	tests := []struct {
		name   string
		winner string // "self" for the tracker asked
		want   codes.Code
	}{
		{"this tracker elected", "self", codes.OK},
		{"another tracker elected", leader.addr, codes.OK},
		{"no leader within the wait", "", codes.FailedPrecondition},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var co *electing
			e := start(t, func(c *Config) {
				c.NewCoordinator = func(a Applier) (Coordinator, error) {
					co = &electing{self: c.Addr, winner: tt.winner, a: a}
					if tt.winner == "self" {
						co.winner = c.Addr
					}
					return co, nil
				}
			})
			host := fmt.Sprintf("127.0.0.%d", 10+i)
			key := offline(e, host)
			if tt.winner == leader.addr {
				key = offline(leader, host)
			}
			_, err := e.cli.DeleteStorage(e.ctx(), &trackerpb.DeleteStorageRequest{Group: "g1", StorageKey: key})
			wantCode(t, err, tt.want)
			if co.waits != 1 {
				t.Errorf("WaitLeader called %d times; want 1", co.waits)
			}
			switch tt.winner {
			case "self":
				if got := e.status("g1", key); got != "DELETED" {
					t.Errorf("on the elected tracker: %s", got)
				}
			case leader.addr:
				if got := leader.status("g1", key); got != "DELETED" {
					t.Errorf("on the elected leader: %s", got)
				}
			default:
				if msg := status.Convert(err).Message(); !strings.Contains(msg, "no leader elected") {
					t.Errorf("message %q does not give the reason", msg)
				}
			}
		})
	}
}

func TestTrackerInfoOnFollower(t *testing.T) {
	e := start(t, func(c *Config) { c.Coordinator = follower{leader: "127.0.0.7:22122"} })
	info, err := e.cli.TrackerInfo(e.ctx(), &trackerpb.TrackerInfoRequest{})
	if err != nil || info.GetIsLeader() || info.GetLeaderAddr() != "127.0.0.7:22122" || info.GetAddr() != "127.0.0.1:22122" {
		t.Fatalf("tracker info = %v, %v", info, err)
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
