// Command bench compares Depot's download path with Debian's nginx serving the same store path
// statically (sendfile on), each pinned to CPU 0 with one worker / GOMAXPROCS=1, driven by wrk
// pinned to CPU 1 over loopback. It writes a markdown table to -out and wrk's raw output to
// -raw. Run it from the repository root:
//
//	go run ./bench -out docs/benchmarks.md -d 10s
//
// It needs taskset, wrk and nginx; it is not part of go test.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	out, raw, nginx string
	dur             time.Duration
	conns           int
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o options
	flags := flag.NewFlagSet("bench", flag.ContinueOnError)
	flags.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown report")
	flags.StringVar(&o.raw, "raw", "docs/bench-raw", "directory for raw wrk output")
	flags.StringVar(&o.nginx, "nginx", "/usr/sbin/nginx", "nginx binary")
	flags.DurationVar(&o.dur, "d", 10*time.Second, "wrk duration per run")
	flags.IntVar(&o.conns, "c", 64, "wrk connections")
	if err := flags.Parse(args); err != nil {
		return err
	}
	for _, tool := range []string{"taskset", "wrk", o.nginx} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is required: %w", tool, err)
		}
	}
	tmp, err := os.MkdirTemp("", "depot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	store := filepath.Join(tmp, "store")
	files, err := prepare(store)
	if err != nil {
		return fmt.Errorf("prepare files: %w", err)
	}
	if err := readableByAll(tmp); err != nil { // nginx workers run as an unprivileged user
		return err
	}
	bin := filepath.Join(tmp, "depot-bench-server")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/server").CombinedOutput(); err != nil {
		return fmt.Errorf("build bench server: %w\n%s", err, out)
	}
	depot, err := startDepot(ctx, bin, store)
	if err != nil {
		return err
	}
	defer depot.stop()
	ngx, err := startNginx(ctx, o.nginx, filepath.Join(tmp, "nginx"), store)
	if err != nil {
		return err
	}
	defer ngx.stop()
	if err := os.MkdirAll(o.raw, 0o755); err != nil {
		return err
	}
	var rows []row
	for _, f := range files {
		r := row{file: f}
		if r.depot, err = drive(ctx, o, depot, "/"+f.id.String(), rawName(o.raw, "depot", f.name)); err != nil {
			return err
		}
		if r.nginx, err = drive(ctx, o, ngx, "/group1/M00/"+f.plain, rawName(o.raw, "nginx", f.name)); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	return writeReport(o, rows)
}

func rawName(dir, server, file string) string {
	return filepath.Join(dir, server+"-"+strings.NewReplacer(" ", "-").Replace(strings.ToLower(file))+".txt")
}

// server is a running server process pinned to CPU 0.
type server struct {
	name string
	addr string
	cmd  *exec.Cmd
	rss  func() int64 // resident set of the process serving requests, in KiB
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// startDepot starts the bench server with GOMAXPROCS=1 on CPU 0 and reads its address.
func startDepot(ctx context.Context, bin, store string) (*server, error) {
	cmd := exec.CommandContext(ctx, "taskset", "-c", "0", bin, "-store", store, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start depot bench server: %w", err)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("depot bench server did not start: %w", err)
	}
	s := &server{name: "depot", addr: strings.TrimSpace(addr), cmd: cmd}
	s.rss = func() int64 { return vmRSS(cmd.Process.Pid) }
	return s, nil
}

// vmRSS reads VmRSS (KiB) of pid from /proc, or -1.
func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb
		}
	}
	return -1
}

// readableByAll makes dir and everything below it world-readable.
func readableByAll(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

var errNoWorker = errors.New("nginx worker not found")
