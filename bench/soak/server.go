package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/depotfs/depot/bench/internal/benchenv"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/token"
)

// secret is the server's anti-steal secret: every URL carries a token.
const secret = "FastDFS1234567890"

// prepare writes the slow downloads' 1 MiB file and the fast client's 100 MiB file into a
// fresh store path and returns their signed URL paths.
func prepare(store string) (slowPath, fastPath string, err error) {
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: store}}, SubdirCount: 1,
		Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	var paths []string
	for _, size := range []int64{1 << 20, 100 << 20} {
		data := io.LimitReader(rand.NewChaCha8([32]byte{byte(size)}), size)
		id, err := st.Upload(context.Background(), data, disk.UploadOptions{Ext: "bin", PathIndex: -1, Size: size})
		if err != nil {
			return "", "", fmt.Errorf("upload %d bytes: %w", size, err)
		}
		ts := time.Now().Unix()
		paths = append(paths, "/"+id.String()+"?token="+token.Sign(secret, id.Remote(), ts)+"&ts="+strconv.FormatInt(ts, 10))
	}
	return paths[0], paths[1], nil
}

// server is the running bench server.
type server struct {
	addr, pprof string
	procs       int // GOMAXPROCS
	cmd         *exec.Cmd
	http        *http.Client
	slowPid     int // the process holding the slow downloads (CPU use is measured per process)
}

// startServer builds bench/server into tmp and starts it on store with accounting on (its
// state in tmp/accounting), the -pprof address and the extra flags, unpinned with the
// default GOMAXPROCS.
func startServer(ctx context.Context, tmp, store string, extra ...string) (*server, error) {
	bin := filepath.Join(tmp, "depot-bench-server")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/server").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build bench server: %w\n%s", err, out)
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-store", store, "-token", secret,
		"-accounting", filepath.Join(tmp, "accounting"), "-pprof", pprofAddr}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bench server: %w", err)
	}
	procs := runtime.NumCPU() // the server's GOMAXPROCS, unless the environment sets one
	if n, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err == nil && n > 0 {
		procs = n
	}
	s := &server{pprof: pprofAddr, procs: procs, cmd: cmd, http: &http.Client{Timeout: 5 * time.Second}}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("bench server did not start: %w", err)
	}
	s.addr = strings.TrimSpace(addr)
	for deadline := time.Now().Add(10 * time.Second); s.goroutines(ctx) < 0; { // -pprof listens
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("bench server: no answer on the -pprof address %s", pprofAddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}

// stop ends the server with SIGTERM, and SIGKILL after 5 s.
func (s *server) stop() {
	if s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// sample is the server's state at one moment.
type sample struct {
	rssKiB      int64
	goroutines  int
	fds         int
	tcpMemPages int64 // the kernel's TCP memory, all sockets (/proc/net/sockstat)
	pruned      int64 // receive queues the kernel pruned to free memory (/proc/net/netstat PruneCalled)
}

func (s *server) sample(ctx context.Context) sample {
	pid := s.cmd.Process.Pid
	x := sample{rssKiB: benchenv.RSS(pid), goroutines: s.goroutines(ctx), fds: benchenv.OpenFDs(pid), tcpMemPages: tcpMem()}
	x.pruned = tcpExt("PruneCalled")
	return x
}

func (s *server) cpuTicks() int64 { return benchenv.CPUTicks(s.cmd.Process.Pid) }

// goroutines asks the -pprof address for runtime.NumGoroutine(), or -1.
func (s *server) goroutines(ctx context.Context) int {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.pprof+"/debug/goroutines", nil)
	if err != nil {
		return -1
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

// watch samples the server every interval until the returned function is called, which
// returns the largest of each measure seen.
func (s *server) watch(ctx context.Context, interval time.Duration) func() sample {
	var mu sync.Mutex
	peak := s.sample(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			x := s.sample(ctx)
			mu.Lock()
			peak = sample{rssKiB: max(peak.rssKiB, x.rssKiB), goroutines: max(peak.goroutines, x.goroutines),
				fds: max(peak.fds, x.fds), tcpMemPages: max(peak.tcpMemPages, x.tcpMemPages),
				pruned: x.pruned}
			mu.Unlock()
		}
	}()
	return func() sample {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// tcpMem reads the pages of memory the kernel's TCP sockets hold ("TCP: ... mem N"), or -1.
func tcpMem() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				n, _ := strconv.ParseInt(f[i+1], 10, 64)
				return n
			}
		}
	}
	return -1
}

// tcpExt reads one TcpExt counter of /proc/net/netstat, or -1.
func tcpExt(name string) int64 {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return -1
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "TcpExt:" {
			continue
		}
		if keys == nil {
			keys = f
			continue
		}
		for i, k := range keys {
			if k == name && i < len(f) {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				return n
			}
		}
	}
	return -1
}

// tcpMemLimits returns net.ipv4.tcp_mem in pages: low, pressure, high (zeros if unknown).
func tcpMemLimits() (lim [3]int64) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_mem")
	if err != nil {
		return lim
	}
	for i, f := range strings.Fields(string(b)) {
		if i < len(lim) {
			lim[i], _ = strconv.ParseInt(f, 10, 64)
		}
	}
	return lim
}

// saveProfiles writes the server's heap profile (after a collection, so it shows what is
// live), the same as text with runtime.MemStats, and its goroutine summary into dir. Called
// after the RSS sample: the forced collection does not show in it.
func (s *server) saveProfiles(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, path := range map[string]string{
		"heap.pprof": "/debug/pprof/heap?gc=1", "heap.txt": "/debug/pprof/heap?debug=1", "goroutines.txt": "/debug/pprof/goroutine?debug=1",
	} {
		if err := s.fetch(ctx, s.http, path, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// cpuProfile starts a CPU profile of the server over d (whole seconds, at least one) into
// file; the returned function waits for it.
func (s *server) cpuProfile(ctx context.Context, file string, d time.Duration) func() error {
	secs := max(int(d/time.Second), 1)
	done := make(chan error, 1)
	go func() {
		done <- s.fetch(ctx, &http.Client{Timeout: time.Duration(secs)*time.Second + 10*time.Second},
			"/debug/pprof/profile?seconds="+strconv.Itoa(secs), file)
	}()
	return func() error { return <-done }
}

// fetch GETs path from the -pprof address into file.
func (s *server) fetch(ctx context.Context, c *http.Client, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.pprof+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
