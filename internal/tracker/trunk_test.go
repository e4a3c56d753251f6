package tracker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/depotfs/depot/proto/trackerpb"
)

func trunkOf(t *testing.T, e *env, group string) string {
	t.Helper()
	r, err := e.cli.ListGroups(e.ctx(), &trackerpb.ListGroupsRequest{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetGroups()[0].GetTrunkServerKey()
}

func TestTrunkServerAssignment(t *testing.T) {
	e := start(t, func(c *Config) { c.Tracker.UseTrunkFile = true })
	a := e.active("g1", "127.0.0.2", 900)
	b := e.active("g1", "127.0.0.3", 900)
	e.join("g2", "127.0.0.4", nil) // ONLINE only: no trunk server yet
	e.srv.AssignTrunkServers(t.Context())
	if got := trunkOf(t, e, "g1"); got != a {
		t.Fatalf("g1 trunk server %q", got)
	}
	if got := trunkOf(t, e, "g2"); got != "" {
		t.Fatalf("g2 trunk server %q", got)
	}
	r := e.beat("g1", b, false)
	if !r.GetChanged() || r.GetTrunkServerKey() != a {
		t.Fatalf("heartbeat: changed %v trunk %q", r.GetChanged(), r.GetTrunkServerKey())
	}
	// The trunk server goes OFFLINE: the next one takes over.
	e.clock.Add(9 * time.Second)
	e.beat("g1", b, false)
	e.clock.Add(time.Second)
	e.srv.Sweep()
	e.srv.AssignTrunkServers(t.Context())
	if got := trunkOf(t, e, "g1"); got != b {
		t.Fatalf("after %s went offline: %q", a, got)
	}
	// It comes back: b keeps the role. The choice survives a restart.
	e.beat("g1", a, false)
	e.srv.AssignTrunkServers(t.Context())
	e.restart()
	if got := trunkOf(t, e, "g1"); got != b {
		t.Fatalf("after restart: %q", got)
	}
	if got := epochOf(t, e, "g1"); got != 2 {
		t.Fatalf("trunk epoch after two appointments and a restart: %d, want 2", got)
	}
	// Replaying the decisions (the log is replayed over the persisted groups) changes nothing.
	for _, c := range []command{{Op: opSetTrunkServer, Group: "g1", Key: a, Epoch: 1}, {Op: opSetTrunkServer, Group: "g1", Key: b, Epoch: 2}} {
		cmd, _ := json.Marshal(c)
		if err := e.srv.Apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	if got, ep := trunkOf(t, e, "g1"), epochOf(t, e, "g1"); got != b || ep != 2 {
		t.Fatalf("after replay: %q epoch %d, want %q epoch 2", got, ep, b)
	}
}

func epochOf(t *testing.T, e *env, group string) uint32 {
	t.Helper()
	r, err := e.cli.ListGroups(e.ctx(), &trackerpb.ListGroupsRequest{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetGroups()[0].GetTrunkEpoch()
}

func TestTrunkServerOnlyWhenNeeded(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"without use_trunk_file", nil},
		{"on a follower", func(c *Config) {
			c.Tracker.UseTrunkFile = true
			c.Coordinator = follower{leader: "127.0.0.7:22122"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, tt.edit)
			e.active("g1", "127.0.0.2", 900)
			e.srv.AssignTrunkServers(t.Context())
			if got := trunkOf(t, e, "g1"); got != "" {
				t.Fatalf("trunk server %q", got)
			}
		})
	}
}

func TestRunAssignsTrunkServer(t *testing.T) {
	e := start(t, func(c *Config) { c.Tracker.UseTrunkFile = true; c.CheckInterval = time.Millisecond })
	a := e.active("g1", "127.0.0.2", 900)
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx) }()
	for trunkOf(t, e, "g1") != a {
		if ctx.Err() != nil {
			t.Fatal("test context ended")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
