package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/proto/trackerpb"
)

// built holds the binaries, compiled once for all the tests of the package.
var built struct {
	once                       sync.Once
	dir, tracker, storage, out string
	err                        error
}

// TestMain removes the binaries after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinaries compiles cmd/tracker and cmd/storage into a temp dir, once per run of the
// package.
func buildBinaries(t *testing.T) (trackerBin, storageBin string) {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "depot-cluster-test-bin")
		if built.err != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", built.dir+string(filepath.Separator), "../cmd/tracker", "../cmd/storage").CombinedOutput()
		built.out, built.err = string(out), err
		built.tracker, built.storage = filepath.Join(built.dir, "tracker"), filepath.Join(built.dir, "storage")
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.tracker, built.storage
}

// freePorts returns a port p free on host together with p+1 and p+2 (a tracker's default
// gossip and Raft ports), over TCP and UDP.
func freePorts(t *testing.T, host string, span int) int {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if p+span > 65535 {
			continue
		}
		ok := true
		for i := range span {
			addr := net.JoinHostPort(host, strconv.Itoa(p+i))
			l, err := net.Listen("tcp", addr)
			if err != nil {
				ok = false
				break
			}
			l.Close()
			u, err := net.ListenPacket("udp", addr)
			if err != nil {
				ok = false
				break
			}
			u.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no free port range on %s", host)
	return 0
}

// proc is a tracker or storage process that can be killed and started again.
type proc struct {
	t    *testing.T
	name string
	bin  string
	conf string
	log  string  // combined output, appended across restarts
	ns   *nsNode // the network namespace to run in; nil: the test's own

	mu  sync.Mutex
	cmd *exec.Cmd
}

func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(p.bin, "-c", p.conf)
	if p.ns != nil {
		cmd = p.ns.command(p.bin, "-c", p.conf)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	f.Close()
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
}

// kill sends SIGKILL and reaps the process.
func (p *proc) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// stop sends SIGTERM (a graceful stop) and waits for the process to exit; after timeout
// the test fails.
func (p *proc) stop(timeout time.Duration) {
	p.t.Helper()
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			p.t.Errorf("%s: exit after SIGTERM: %v\n%s", p.name, err, p.output())
		}
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		p.t.Fatalf("%s did not exit within %v of SIGTERM\n%s", p.name, timeout, p.output())
	}
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// storageConf is the storage.conf (FastDFS's keys plus Depot's http.server_port) of a
// cluster test's storage: group on host:port with HTTP on port+1, dir as base path and its
// one store path, small subdirectories, a heartbeat a second, a tracker_server line per
// tracker.
func storageConf(group, host string, port int, dir string, trackers ...string) string {
	body := fmt.Sprintf(`group_name = %s
bind_addr = %s
port = %d
base_path = %s
store_path_count = 1
store_path0 = %s
subdir_count_per_path = 4
heart_beat_interval = 1
reserved_storage_space = 1%%
http.server_port = %d
`, group, host, port, dir, dir, port+1)
	for _, a := range trackers {
		body += "tracker_server = " + a + "\n"
	}
	return body
}

func writeConf(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// statuses asks the tracker at addr for storage key → state name.
func statuses(addr string) (map[string]string, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := trackerpb.NewTrackerServiceClient(conn).ListGroups(ctx, &trackerpb.ListGroupsRequest{})
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

// poll calls cond every 50 ms until it returns nil; after timeout the test fails.
func poll(t *testing.T, what string, timeout time.Duration, cond func() error, procs ...*proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			var logs bytes.Buffer
			for _, p := range procs {
				fmt.Fprintf(&logs, "--- %s:\n%s\n", p.name, p.output())
			}
			t.Fatalf("timed out waiting for %s: %v\n%s", what, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
