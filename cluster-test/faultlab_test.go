package clustertest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
)

// Ports every node uses on its own address (each node has its own namespace).
const (
	labTrackerPort = 22122 // gossip 22123, Raft 22124 (the defaults)
	labTrackerAdm  = 22180
	labStoragePort = 23000
	labStorageHTTP = 8888
)

// labSpec describes a fault scenario's cluster.
type labSpec struct {
	trackers int
	groups   []int // storages per group: group1, group2, ...
	// storePath, when set, gives the store path of storage i (in start order) instead of
	// its base path; the test mounts it.
	storePath func(i int) string
}

// labNode is a tracker or storage of a lab cluster.
type labNode struct {
	*proc
	net   *nsNode
	addr  string // gRPC host:port (a storage's key on the trackers)
	group string // storages only
	store string // storages: store_path0
}

// labCluster is a cluster of processes, each in its own namespace.
type labCluster struct {
	t        *testing.T
	lab      *netLab
	trackers []*labNode
	storages []*labNode
	all      []*proc
	began    time.Time
}

// logf logs with the time since the cluster was started.
func (c *labCluster) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("%6.1fs "+format, append([]any{time.Since(c.began).Seconds()}, args...)...)
}

// startLab builds the binaries, makes a namespace per node, writes FastDFS-format config
// files and starts every node, then waits until every storage is ACTIVE on every tracker.
func startLab(t *testing.T, spec labSpec) *labCluster {
	t.Helper()
	lab := newNetLab(t)
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()
	c := &labCluster{t: t, lab: lab, began: time.Now()}
	var trackerLines strings.Builder
	for i := range spec.trackers {
		n := lab.node()
		addr := net.JoinHostPort(n.ip, strconv.Itoa(labTrackerPort))
		dir := filepath.Join(root, fmt.Sprintf("tracker%d", i))
		conf := filepath.Join(dir, "tracker.conf")
		writeConf(t, conf, fmt.Sprintf(`bind_addr = %s
port = %d
base_path = %s
store_lookup = 0
store_server = 0
reserved_storage_space = 1%%
check_active_interval = 2
http.admin_port = %d
log_level = debug
`, n.ip, labTrackerPort, dir, labTrackerAdm))
		c.trackers = append(c.trackers, &labNode{
			proc: &proc{t: t, name: "tracker " + addr, bin: trackerBin, conf: conf, log: filepath.Join(dir, "out.log"), ns: n},
			net:  n, addr: addr,
		})
		fmt.Fprintf(&trackerLines, "tracker_server = %s\n", addr)
	}
	for g, count := range spec.groups {
		for range count {
			i := len(c.storages)
			n := lab.node()
			addr := net.JoinHostPort(n.ip, strconv.Itoa(labStoragePort))
			dir := filepath.Join(root, fmt.Sprintf("storage%d", i))
			store := dir
			if spec.storePath != nil {
				if p := spec.storePath(i); p != "" {
					store = p
				}
			}
			conf := filepath.Join(dir, "storage.conf")
			group := fmt.Sprintf("group%d", g+1)
			writeConf(t, conf, fmt.Sprintf(`group_name = %s
bind_addr = %s
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
heart_beat_interval = 1
reserved_storage_space = 1%%
http.server_port = %d
log_level = debug
%s`, group, n.ip, labStoragePort, dir, store, labStorageHTTP, trackerLines.String()))
			c.storages = append(c.storages, &labNode{
				proc: &proc{t: t, name: "storage " + addr, bin: storageBin, conf: conf, log: filepath.Join(dir, "out.log"), ns: n},
				net:  n, addr: addr, group: group, store: store,
			})
		}
	}
	for _, n := range append(append([]*labNode{}, c.trackers...), c.storages...) {
		c.all = append(c.all, n.proc)
		n.start()
		t.Cleanup(n.kill)
	}
	c.waitActive("every storage ACTIVE on every tracker", c.trackers...)
	return c
}

// trackerAddrs lists the trackers' addresses, first the ones given.
func (c *labCluster) trackerAddrs(first ...*labNode) []string {
	var out []string
	for _, n := range first {
		out = append(out, n.addr)
	}
	for _, n := range c.trackers {
		if !strings.Contains(strings.Join(out, " "), n.addr) {
			out = append(out, n.addr)
		}
	}
	return out
}

// waitActive waits until the trackers given report every storage ACTIVE.
func (c *labCluster) waitActive(what string, on ...*labNode) {
	c.t.Helper()
	c.waitStates(what, 60*time.Second, func(string) string { return "ACTIVE" }, on...)
}

// waitStates waits until each of the trackers on reports want(key) for every storage.
func (c *labCluster) waitStates(what string, timeout time.Duration, want func(key string) string, on ...*labNode) {
	c.t.Helper()
	poll(c.t, what, timeout, func() error {
		for _, tr := range on {
			st, err := statuses(tr.addr)
			if err != nil {
				return fmt.Errorf("tracker %s: %w", tr.addr, err)
			}
			for _, s := range c.storages {
				if w := want(s.addr); w != "" && st[s.addr] != w {
					return fmt.Errorf("tracker %s: %s is %q, want %s", tr.addr, s.addr, st[s.addr], w)
				}
			}
		}
		return nil
	}, c.all...)
	c.logf("%s", what)
}

// leaders returns the trackers among on that say they are the Raft leader (admin metrics).
func (c *labCluster) leaders(on ...*labNode) ([]*labNode, error) {
	var out []*labNode
	hc := &http.Client{Timeout: 2 * time.Second}
	for _, tr := range on {
		resp, err := hc.Get("http://" + net.JoinHostPort(tr.net.ip, strconv.Itoa(labTrackerAdm)) + "/metrics")
		if err != nil {
			return nil, fmt.Errorf("tracker %s metrics: %w", tr.addr, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("tracker %s metrics: %w", tr.addr, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line == "depot_tracker_leader 1" {
				out = append(out, tr)
			}
		}
	}
	return out, nil
}

// waitOneLeader waits until exactly one of the trackers on is the leader and returns it.
func (c *labCluster) waitOneLeader(what string, on ...*labNode) *labNode {
	c.t.Helper()
	var leader *labNode
	poll(c.t, what, 60*time.Second, func() error {
		ls, err := c.leaders(on...)
		if err != nil {
			return err
		}
		if len(ls) != 1 {
			var names []string
			for _, l := range ls {
				names = append(names, l.addr)
			}
			return fmt.Errorf("%d leaders %v", len(ls), names)
		}
		leader = ls[0]
		return nil
	}, c.all...)
	c.logf("%s: %s", what, leader.name)
	return leader
}

// newClient is an SDK client in tracker mode on the trackers (in that order). Its retry
// timeout is longer than a scenario's fault lasts: an upload whose outcome is unknown is
// retried only on the storage it went to, which may be the one cut off.
func (c *labCluster) newClient(trackers []string) *client.Client {
	c.t.Helper()
	cl, err := client.New(client.Config{Trackers: trackers, DialTimeout: 5 * time.Second, RetryTimeout: 2 * maxHold})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// groupStorages returns the storages of a group.
func (c *labCluster) groupStorages(group string) []*labNode {
	var out []*labNode
	for _, s := range c.storages {
		if s.group == group {
			out = append(out, s)
		}
	}
	return out
}

// faultScale is the length of a scenario's phases, short in CI and longer with
// DEPOT_FULL=1: uploads to acknowledge in a phase, and how long a fault lasts at least.
func faultScale() (uploads int, hold time.Duration) {
	if fullRun() {
		return 300, 20 * time.Second
	}
	return 15, 3 * time.Second
}

// maxHold bounds a phase that waits for the client: well within the client's retry
// timeout, so that an upload waiting for a storage that is cut off does not give up.
const maxHold = 45 * time.Second

// settle waits until the loop has acknowledged n more uploads and at least d has passed;
// the test fails when that takes more than maxHold.
func (c *labCluster) settle(l *loadLoop, what string, n int, d time.Duration) {
	c.t.Helper()
	from, start := l.acked(), time.Now()
	poll(c.t, fmt.Sprintf("%d uploads acknowledged %s (in at least %v)", n, what, d), maxHold+d, func() error {
		if got := l.acked() - from; got < n || time.Since(start) < d {
			return fmt.Errorf("%d acknowledged in %v", got, time.Since(start).Round(time.Millisecond))
		}
		return nil
	}, c.all...)
	c.logf("%d uploads acknowledged %s", l.acked()-from, what)
}

// callCtx is a context for a single call of the test.
func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 4*maxHold)
}
