package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Fast timers of a test cluster. check_active_interval is 30 heartbeats: on a loaded
// machine (the race detector, other processes on the cores) a heartbeat of an in-process
// cluster has been seen to arrive nearly 3 s after the one before, and 1 s made live
// storages flap OFFLINE (clients then heard "no storage available").
const (
	HeartbeatInterval   = 100 * time.Millisecond
	CheckActiveInterval = 3 * time.Second
	sweepInterval       = 100 * time.Millisecond
)

// Options describe a cluster. Zero values take the defaults noted.
type Options struct {
	Trackers         int      // default 3
	Groups           []string // default group1, group2
	StoragesPerGroup int      // default 2
	// Tracker adjusts tracker i's tracker.conf before it starts.
	Tracker func(i int, tc *conf.Tracker)
	// Storage adjusts the config of storage i (0-based) of group before it starts.
	Storage func(group string, i int, sc *conf.Storage, cfg *storage.Config)
	// Seeds tells every tracker about the others at start (Depot's cluster_seeds); by
	// default they learn about each other from the storages only.
	Seeds bool
	// StorageIDs runs the cluster with use_storage_id and id_type_in_filename = id: storage n
	// (1-based, in start order) is id 100000+n in a generated storage_ids.conf.
	StorageIDs bool
}

// Cluster is a running test cluster. Everything stops at the end of the test.
type Cluster struct {
	t        testing.TB
	opts     Options
	block    int
	log      *slog.Logger
	Trackers []*Tracker
	Storages []*Storage

	mu   sync.Mutex
	side map[string]int // host → partition side; empty = no partition

	idsFile string            // storage_ids.conf with Options.StorageIDs
	ids     *conf.StorageIDs  // its contents
	idOf    map[string]string // storage host → id
}

// Start starts the trackers, then the storages, and waits until every storage is ACTIVE
// on every tracker.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Trackers == 0 {
		opts.Trackers = 3
	}
	if opts.Groups == nil {
		opts.Groups = []string{"group1", "group2"}
	}
	if opts.StoragesPerGroup == 0 {
		opts.StoragesPerGroup = 2
	}
	c := &Cluster{t: t, opts: opts, block: 10 + rand.IntN(240), side: map[string]int{}, log: testLogger()}
	if opts.StorageIDs {
		c.writeStorageIDs()
	}
	for i := range opts.Trackers {
		tr := &Tracker{c: c, Index: i, Host: c.host(1, i+1), dir: t.TempDir()}
		if err := tr.start(); err != nil {
			t.Fatalf("testcluster: tracker %d: %v", i, err)
		}
		c.Trackers = append(c.Trackers, tr)
		t.Cleanup(tr.Stop)
	}
	n := 0
	for _, g := range opts.Groups {
		for i := range opts.StoragesPerGroup {
			n++
			c.AddStorage(g, i, c.host(2, n))
		}
	}
	c.WaitAllActive()
	return c
}

// testLogger logs to stderr when DEPOT_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("DEPOT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (c *Cluster) host(kind, n int) string { return fmt.Sprintf("127.%d.%d.%d", c.block, kind, n) }

// TrackerAddrs returns the trackers' gRPC addresses (the tracker_server list).
func (c *Cluster) TrackerAddrs() []string {
	out := make([]string, len(c.Trackers))
	for i, tr := range c.Trackers {
		out[i] = tr.Addr
	}
	return out
}

// Client returns an SDK client in tracker mode over every tracker, closed at the end.
func (c *Cluster) Client() *client.Client {
	c.t.Helper()
	cl, err := client.New(client.Config{Trackers: c.TrackerAddrs(), DialTimeout: 5 * time.Second, RetryTimeout: 20 * time.Second, Logger: c.log})
	if err != nil {
		c.t.Fatalf("testcluster: client: %v", err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// List asks tracker tr for every group and storage (within 10 s: a loaded machine has
// taken more than 3).
func (c *Cluster) List(tr *Tracker) (*trackerpb.ListGroupsResponse, error) {
	conn, err := grpc.NewClient(tr.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return trackerpb.NewTrackerServiceClient(conn).ListGroups(ctx, &trackerpb.ListGroupsRequest{})
}

// Statuses returns storage key → FastDFS status name as tracker tr sees them.
func (c *Cluster) Statuses(tr *Tracker) (map[string]string, error) {
	resp, err := c.List(tr)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, g := range resp.GetGroups() {
		for _, s := range g.GetStorages() {
			out[s.GetBrief().GetKey()] = s.GetStatusName()
		}
	}
	return out, nil
}

// WaitAllActive waits until every running tracker sees every running storage ACTIVE.
func (c *Cluster) WaitAllActive() {
	c.t.Helper()
	c.Eventually("every storage ACTIVE on every tracker", 30*time.Second, func() error {
		for _, tr := range c.Trackers {
			if !tr.Running() {
				continue
			}
			st, err := c.Statuses(tr)
			if err != nil {
				return err
			}
			for _, s := range c.Storages {
				if s.Running() && st[s.Key()] != "ACTIVE" {
					return fmt.Errorf("tracker %s: storage %s is %q", tr.Addr, s.Key(), st[s.Key()])
				}
			}
		}
		return nil
	})
}

// Eventually polls cond every 20 ms until it returns nil; after timeout the test fails
// with cond's last error.
func (c *Cluster) Eventually(what string, timeout time.Duration, cond func() error) {
	c.t.Helper()
	Eventually(c.t, what, timeout, cond)
}

// Eventually polls cond every 20 ms until it returns nil or timeout passes (test failure).
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testcluster: timed out waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Partition cuts gossip and Raft traffic between the given sides (tracker indexes); the
// trackers of one side still reach each other. Storages and clients reach every tracker.
// Trackers not named, and traffic whose source address is not a tracker's (a connection
// dialed without binding its local address comes from 127.0.0.1), belong to the first side:
// put the majority first.
func (c *Cluster) Partition(sides ...[]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.side = map[string]int{}
	for s, idx := range sides {
		for _, i := range idx {
			c.side[c.Trackers[i].Host] = s
		}
	}
}

// Heal ends a partition.
func (c *Cluster) Heal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.side = map[string]int{}
}

// reachable is the consensus Reachable hook of the tracker on host from.
func (c *Cluster) reachable(from string) func(string) bool {
	return func(to string) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.side[from] == c.side[to]
	}
}

// Leaders returns the running trackers that consider themselves the leader.
func (c *Cluster) Leaders() []*Tracker {
	var out []*Tracker
	for _, tr := range c.Trackers {
		if tr.IsLeader() {
			out = append(out, tr)
		}
	}
	return out
}
