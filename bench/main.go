// Command bench compares Depot's download path with Debian's nginx serving the same store path
// statically (sendfile on) on every row of the performance targets, and writes the table to
// -out (its head and the sections the run generates; other sections, such as bench/soak's,
// are kept) and wrk's raw output to -raw. Run it from the repository root:
//
//	go run ./bench -out docs/benchmarks.md -d 10s
//
// Pinned rows: Depot's bench server (GOMAXPROCS=1) and nginx (one worker) on CPU 0, wrk on
// CPU 1. GOMAXPROCS=2 rows: Depot unpinned with GOMAXPROCS=2, nginx with two workers, wrk
// unpinned (reported, not targeted). The accounting rows compare a third Depot server with
// download accounting on (-accounting, no limits set) with the plain one; -only accounting
// runs just them, and the report gives them a section of their own ("## Accounting
// overhead"). The two sides of a row run interleaved (A, B, A, B, ...:
// -rounds runs of -d/-rounds each) so that load from other processes hits both alike. It needs taskset, wrk
// and nginx; it is not part of go test.
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
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/depotfs/depot/bench/internal/benchenv"
	"github.com/depotfs/depot/internal/token"
)

type options struct {
	out, raw, nginx string
	dur             time.Duration
	conns, idle     int
	rounds          int
	only            string
	prepareOnly     string
}

// benchSecret is the anti-steal secret of the Depot servers: every Depot URL carries a token.
const benchSecret = "FastDFS1234567890"

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
	flags.DurationVar(&o.dur, "d", 10*time.Second, "wrk duration per row and server (run as two halves)")
	flags.IntVar(&o.conns, "c", 64, "wrk connections")
	flags.IntVar(&o.rounds, "rounds", 4, "runs per side of a row, interleaved; each lasts d/rounds")
	flags.IntVar(&o.idle, "idle", 10000, "idle keep-alive connections for the RSS row (0 = skip)")
	flags.StringVar(&o.only, "only", "", "run only the rows whose label contains this (a partial report: -out keeps its table, and gets only the sections these rows make)")
	flags.StringVar(&o.prepareOnly, "prepare", "", "only write the files into this store path and print their URLs (for profiling)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if o.rounds < 1 {
		return fmt.Errorf("-rounds %d: want >= 1", o.rounds)
	}
	if o.prepareOnly != "" {
		fs, err := prepare(o.prepareOnly)
		if err != nil {
			return err
		}
		for name, f := range fs {
			fmt.Printf("%s\t%s\t/group1/M00/%s\n", name, depotPath(f), f.plain)
		}
		return readableByAll(o.prepareOnly)
	}
	for _, tool := range []string{"taskset", "wrk", o.nginx} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is required: %w", tool, err)
		}
	}
	if _, err := benchenv.RaiseNoFile(0); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "depot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// SIGINT/SIGTERM cancel the run; the servers are stopped on the way out.
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, 30*time.Minute)
	defer cancel()

	store := filepath.Join(tmp, "store")
	fs, err := prepare(store)
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
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	start := func(s *server, err error) (*server, error) {
		if s != nil {
			servers = append(servers, s)
		}
		return s, err
	}
	depot, err := start(startDepot(ctx, bin, "depot", 1, "-store", store, "-token", benchSecret))
	if err != nil {
		return err
	}
	ngx, err := start(startNginx(ctx, o.nginx, filepath.Join(tmp, "nginx"), store, 1))
	if err != nil {
		return err
	}
	// The proxy node: an empty store of the same group whose every file is fetched from depot.
	proxy, err := start(startDepot(ctx, bin, "depot proxy node", 1, "-store", filepath.Join(tmp, "empty"),
		"-token", benchSecret, "-source", "http://"+depot.addr))
	if err != nil {
		return err
	}
	// The same server with download accounting on: every response's acknowledged bytes are
	// watched and merged into a bbolt file, with no limits set.
	acct, err := start(startDepot(ctx, bin, "depot accounting on", 1, "-store", store, "-token", benchSecret,
		"-accounting", filepath.Join(tmp, "accounting")))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.raw, 0o755); err != nil {
		return err
	}
	rep := report{opts: o, load0: benchenv.LoadAvg()}
	dp := func(name string) string { return depotPath(fs[name]) }
	np := func(name string) string { return "/group1/M00/" + fs[name].plain }
	pinned := []pairSpec{
		{label: "4 KiB file, token on", a: depot, aPath: dp("4 KiB"), b: ngx, bPath: np("4 KiB"), min: 0.9},
		{label: "4 KiB trunk slice (nginx: the 4 KiB file)", a: depot, aPath: dp("4 KiB trunk slice"), b: ngx, bPath: np("4 KiB trunk slice"), min: 1.0},
		{label: "1 MiB file", a: depot, aPath: dp("1 MiB"), b: ngx, bPath: np("1 MiB"), min: 0.97},
		{label: "100 MiB file", a: depot, aPath: dp("100 MiB"), b: ngx, bPath: np("100 MiB"), min: 0.97, byMiB: true},
		{label: "1 MB trunk slice (nginx: the 1 MiB file)", a: depot, aPath: dp("1 MB trunk slice"), b: ngx, bPath: np("1 MB trunk slice"), min: 0.7},
		{label: "proxy 200 KB through a second Depot (vs Depot direct)", a: proxy, aPath: dp("200 KB"), b: depot, bPath: dp("200 KB"), min: 0.4},
		{label: "4 KiB file, accounting on (vs Depot, accounting off)", a: acct, aPath: dp("4 KiB"), b: depot, bPath: dp("4 KiB"), min: 0.95, accounting: true, together: true},
		{label: "200 KB file, accounting on (vs Depot, accounting off)", a: acct, aPath: dp("200 KB"), b: depot, bPath: dp("200 KB"), min: 0.95, accounting: true, together: true},
		{label: "1 MiB file, accounting on (vs Depot, accounting off)", a: acct, aPath: dp("1 MiB"), b: depot, bPath: dp("1 MiB"), min: 0.95, accounting: true, together: true},
	}
	for _, p := range pinned {
		if !strings.Contains(p.label, o.only) {
			continue
		}
		r, err := runPair(ctx, o, p, true)
		if err != nil {
			return err
		}
		rep.pairs = append(rep.pairs, r)
	}
	if o.idle > 0 && strings.Contains("idle", o.only) {
		if rep.idle, err = idleRSS(ctx, o.idle, depot, ngx, np("4 KiB"), dp("4 KiB")); err != nil {
			return err
		}
	}
	for _, s := range []*server{depot, ngx, proxy, acct} {
		s.stop()
	}
	procs2 := []pairSpec{
		{label: "GOMAXPROCS=2: 4 KiB file, token on", aPath: dp("4 KiB"), bPath: np("4 KiB")},
		{label: "GOMAXPROCS=2: 4 KiB trunk slice", aPath: dp("4 KiB trunk slice"), bPath: np("4 KiB trunk slice")},
		{label: "GOMAXPROCS=2: 1 MiB file", aPath: dp("1 MiB"), bPath: np("1 MiB")},
	}
	procs2 = slices.DeleteFunc(procs2, func(p pairSpec) bool { return !strings.Contains(p.label, o.only) })
	if len(procs2) == 0 {
		rep.load1 = benchenv.LoadAvg()
		return rep.write()
	}
	depot2, err := start(startDepot(ctx, bin, "depot GOMAXPROCS=2", 2, "-store", store, "-token", benchSecret))
	if err != nil {
		return err
	}
	ngx2, err := start(startNginx(ctx, o.nginx, filepath.Join(tmp, "nginx2"), store, 2))
	if err != nil {
		return err
	}
	for _, p := range procs2 {
		p.a, p.b = depot2, ngx2
		r, err := runPair(ctx, o, p, false)
		if err != nil {
			return err
		}
		rep.pairs = append(rep.pairs, r)
	}
	rep.load1 = benchenv.LoadAvg()
	return rep.write()
}

// depotPath is the URL path of f on a Depot server, with a valid anti-steal token.
func depotPath(f benchFile) string {
	ts := time.Now().Unix()
	return "/" + f.id.String() + "?token=" + token.Sign(benchSecret, f.id.Remote(), ts) + "&ts=" + fmt.Sprint(ts)
}

// server is a running server process.
type server struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	pinned bool
	rss    func() int64 // resident set of the process(es) serving requests, in KiB
	cpu    func() int64 // CPU time (user + system) of the process(es) serving requests, in ticks
}

// stop ends the server with SIGTERM (nginx's master then stops its workers; SIGKILL would
// leave them running) and SIGKILL after 5 s.
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

// terminate makes cmd end with SIGTERM when its context is done.
func terminate(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
}

// startDepot starts the bench server with GOMAXPROCS=procs (pinned to CPU 0 when 1) and reads
// its address.
func startDepot(ctx context.Context, bin, name string, procs int, args ...string) (*server, error) {
	args = append([]string{bin, "-addr", "127.0.0.1:0"}, args...)
	if procs == 1 {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	terminate(cmd)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	s := &server{name: name, addr: strings.TrimSpace(addr), cmd: cmd, pinned: procs == 1}
	s.rss = func() int64 { return benchenv.RSS(cmd.Process.Pid) }
	s.cpu = func() int64 { return benchenv.CPUTicks(cmd.Process.Pid) }
	return s, nil
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
