package membership

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// network is a test partition switch shared by nodes: hosts in different
// sides cannot talk.
type network struct {
	mu   sync.Mutex
	side map[string]int
}

func (n *network) cut(sides map[string]int) {
	n.mu.Lock()
	n.side = sides
	n.mu.Unlock()
}

func (n *network) reachable(self string) func(string) bool {
	return func(peer string) bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.side[self] == n.side[peer]
	}
}

func startNode(t *testing.T, net *network, i int) *Membership {
	t.Helper()
	host := fmt.Sprintf("127.0.0.%d", 20+i)
	m, err := New(Config{
		Name:          fmt.Sprintf("node-%d", i),
		BindAddr:      host,
		Meta:          Meta{GRPCAddr: host + ":22122", RaftAddr: host + ":22124"},
		ProbeInterval: 100 * time.Millisecond,
		Reachable:     net.reachable(host),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(100 * time.Millisecond) })
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func aliveCount(m *Membership) int {
	n := 0
	for _, mem := range m.Members() {
		if mem.Alive {
			n++
		}
	}
	return n
}

// drain consumes events so the queue never fills, recording them.
func drain(m *Membership) func() []Event {
	var mu sync.Mutex
	var got []Event
	go func() {
		for e := range m.Events() {
			mu.Lock()
			got = append(got, e)
			mu.Unlock()
		}
	}()
	return func() []Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]Event(nil), got...)
	}
}

func TestJoinMetaAndPartition(t *testing.T) {
	net := &network{}
	a, b, c := startNode(t, net, 1), startNode(t, net, 2), startNode(t, net, 3)
	eventsA := drain(a)
	drain(b)
	drain(c)
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join([]string{b.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Membership{a, b, c} {
		waitFor(t, "three alive members", func() bool { return aliveCount(m) == 3 })
	}
	mems := a.Members()
	if mems[2].Name != "node-3" || mems[2].Meta.GRPCAddr != "127.0.0.23:22122" || mems[2].Addr != c.LocalAddr() {
		t.Fatalf("a sees c as %+v", mems[2])
	}

	t.Run("meta update", func(t *testing.T) {
		if err := c.UpdateMeta(Meta{GRPCAddr: "127.0.0.23:22122", RaftAddr: "127.0.0.23:22124", Bootstrapped: true}, time.Second); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a to see c bootstrapped", func() bool {
			for _, e := range eventsA() {
				if e.Kind == EventUpdate && e.Member.Name == "node-3" && e.Member.Meta.Bootstrapped {
					return true
				}
			}
			return false
		})
	})

	t.Run("partition and heal", func(t *testing.T) {
		net.cut(map[string]int{"127.0.0.23": 1})
		waitFor(t, "a and b to see c dead", func() bool { return aliveCount(a) == 2 && aliveCount(b) == 2 })
		waitFor(t, "c to see a and b dead", func() bool { return aliveCount(c) == 1 })
		net.cut(nil)
		// Dead nodes are still gossiped to for a while; a rejoin makes it certain.
		if _, err := c.Join([]string{a.LocalAddr()}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*Membership{a, b, c} {
			waitFor(t, "three alive members after heal", func() bool { return aliveCount(m) == 3 })
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{BindAddr: "127.0.0.1"}},
		{"bad addr", Config{Name: "n", BindAddr: "localhost"}},
		{"bad port", Config{Name: "n", BindAddr: "127.0.0.1", Port: 70000}},
		{"negative probe", Config{Name: "n", BindAddr: "127.0.0.1", ProbeInterval: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

// Delegates must not block even when nobody reads Events: gossip still
// converges, and the queued events are there when a reader comes.
func TestEventsQueueWithoutReader(t *testing.T) {
	net := &network{}
	a, b := startNode(t, net, 4), startNode(t, net, 5)
	if _, err := b.Join([]string{a.LocalAddr()}); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateMeta(Meta{GRPCAddr: "x:1", RaftAddr: "y:2"}, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Membership{a, b} {
		waitFor(t, "two alive members", func() bool { return aliveCount(m) == 2 })
	}
	waitFor(t, "a to see b's new meta", func() bool { return a.Members()[1].Meta.GRPCAddr == "x:1" })
	_ = b.Close(time.Second)
	waitFor(t, "a to see b leave", func() bool { return aliveCount(a) == 1 })

	want := []struct {
		kind EventKind
		name string
	}{{EventJoin, "node-4"}, {EventJoin, "node-5"}, {EventUpdate, "node-5"}, {EventLeave, "node-5"}}
	for _, w := range want {
		select {
		case e := <-a.Events():
			if e.Kind != w.kind || e.Member.Name != w.name {
				t.Fatalf("event %s %s, want %s %s", e.Kind, e.Member.Name, w.kind, w.name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s event for %s", w.kind, w.name)
		}
	}
}
