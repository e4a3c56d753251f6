// Command soak holds many slow downloads open against Depot's download server with download
// accounting on and measures what they cost: the server's RSS, goroutines and open files,
// and the throughput of one fast client beside them. It builds and starts bench/server
// (-accounting, -pprof), writes a 1 MiB file (the slow downloads') and a 100 MiB file (the
// fast client's) into a fresh store path, and then:
//
//  1. measures the fast client alone: one keep-alive connection from 127.0.0.1 downloading
//     the 100 MiB file again and again for -fast-dur;
//  2. opens -n slow downloads of the 1 MiB file in batches of -batch, from 127.0.0.2 …
//     127.0.0.9 in turn (no source address runs out of ephemeral ports), each with a 4 KiB
//     SO_RCVBUF and reading -rate bytes a second, so that the server really holds them: at
//     1 KiB/s none finishes within the run;
//  3. with all of them connected and reading, samples the server's RSS (VmRSS), goroutines
//     (the -pprof address's /debug/goroutines) and open files (/proc/PID/fd) and measures the
//     fast client again;
//  4. closes them and measures the fast client alone once more: the two alone runs bracket
//     the one beside the slow downloads, so that a change in other work on the machine shows;
//  5. prints the numbers and writes them as the "## Slow-client soak" section of -out,
//     keeping the rest of that file.
//
// -sndbuf and -notsent-lowat pass bench/server's socket options, to compare how much of each
// slow response the kernel queues; such a run writes a section of its own, named with them.
//
// Everything is bounded by -timeout; every connection is closed and the server stopped on
// the way out. It targets loopback only. Run it from the repository root:
//
//	go run ./bench/soak -n 10000
//
// It is not part of go test.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/depotfs/depot/bench/internal/benchenv"
)

type options struct {
	n, rate, batch  int
	fastDur, settle time.Duration
	readEvery       time.Duration // a slow download reads rate×readEvery bytes every readEvery
	rounds          int
	timeout         time.Duration
	out, profile    string
	sndbuf, lowat   int  // bench/server -sndbuf, -notsent-lowat (0 = not set)
	slowNice        int  // nice value of the slow-download process (-1 = in the soak process)
	slowIdle        bool // run the slow-download process under SCHED_IDLE as well (chrt --idle)
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var o options
	flags := flag.NewFlagSet("soak", flag.ContinueOnError)
	flags.IntVar(&o.n, "n", 10000, "concurrent slow downloads")
	flags.IntVar(&o.rate, "rate", 1024, "bytes a second each slow download reads")
	flags.DurationVar(&o.readEvery, "read-every", 4*time.Second, "how often a slow download reads: -rate × this at a time (its 4 KiB receive window holds 4 s at 1 KiB/s; a read a second costs the slow-download process 4 times the wakeups)")
	flags.IntVar(&o.batch, "batch", 500, "slow downloads opened at a time while ramping up")
	flags.DurationVar(&o.fastDur, "fast-dur", 10*time.Second, "how long each fast-client measurement lasts")
	flags.DurationVar(&o.settle, "settle", 10*time.Second, "wait after the ramp before sampling (CPU use with the slow downloads alone is measured over it)")
	flags.DurationVar(&o.timeout, "timeout", 6*time.Minute, "bound on the whole run")
	flags.IntVar(&o.rounds, "rounds", 5, "rounds of alone / beside the slow downloads / alone (each round after the first opens them afresh); the target is checked on the median round")
	flags.IntVar(&o.sndbuf, "sndbuf", 0, "bench/server -sndbuf: SO_SNDBUF of every server connection (0 = the kernel's autotuning)")
	flags.IntVar(&o.lowat, "notsent-lowat", 0, "bench/server -notsent-lowat: TCP_NOTSENT_LOWAT of every server connection (0 = fastsrv's default, 16 KiB; -1 = the kernel's, no limit)")
	flags.StringVar(&o.profile, "profile", "", "save the server's CPU profile of each fast-client run, and its heap profile and goroutine summary with the slow downloads open, into this directory")
	flags.IntVar(&o.slowNice, "slow-nice", 19, "run the slow downloads in a child process under nice -n this (they stand in for remote clients); -1 = in the soak process itself")
	flags.BoolVar(&o.slowIdle, "slow-idle", true, "with -slow-nice: run the slow-download process under the SCHED_IDLE policy too (chrt --idle 0), so that it runs only on CPU time nothing else wants")
	var child struct {
		on         bool
		addr, path string
	}
	flags.BoolVar(&child.on, "slow-child", false, "internal: be the slow-download process (see -slow-nice)")
	flags.StringVar(&child.addr, "slow-addr", "", "internal: the server address, with -slow-child")
	flags.StringVar(&child.path, "slow-path", "", "internal: the slow downloads' URL path, with -slow-child")
	flags.StringVar(&o.out, "out", "docs/benchmarks.md", `markdown file whose "## Slow-client soak" section is written ("" = print only)`)
	if err := flags.Parse(args); err != nil {
		return err
	}
	if child.on {
		return slowChild(child.addr, child.path, o.rate, o.readEvery)
	}
	if o.slowNice > 19 {
		return fmt.Errorf("-slow-nice %d: want -1 (in this process) or a nice value up to 19", o.slowNice)
	}
	if o.n < 1 || o.batch < 1 || o.rate < 1 || o.readEvery <= 0 || readSize(o.rate, o.readEvery) < minRead || o.fastDur < time.Second || o.rounds < 1 {
		return fmt.Errorf("want -n >= 1, -batch >= 1, -rate × -read-every >= %d bytes, -fast-dur >= 1s, -rounds >= 1", minRead)
	}
	// The soak holds a socket per slow download; the server a socket, and the file while the
	// download's bytes are not all in the socket's send buffer. Raising the hard limit needs
	// CAP_SYS_RESOURCE; without it the hard limit is what there is.
	nofile, err := benchenv.RaiseNoFile(uint64(3*o.n + 4096))
	if err != nil {
		return err
	}
	if nofile < uint64(o.n+1024) {
		return fmt.Errorf("open-file limit %d is too low for -n %d", nofile, o.n)
	}
	if nofile < uint64(2*o.n+1024) {
		logf("open-file limit %d: the server may run out of descriptors if it holds the file of every slow download open", nofile)
	}
	sctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, o.timeout)
	defer cancel()
	res, err := soak(ctx, o, nofile)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (-timeout %s)", err, o.timeout)
		}
		return err
	}
	md := res.markdown()
	fmt.Print(md)
	if o.out == "" {
		return nil
	}
	return benchenv.WriteSection(o.out, o.heading(), md)
}

// againSettle is the pause after opening the slow downloads in rounds after the first: past
// the first read of every one, so that they are all reading when the fast client runs.
func (o options) againSettle() time.Duration {
	return min(o.settle, max(2*time.Second, o.readEvery+time.Second))
}

// soak prepares the store, starts the server and runs the measurements.
func soak(ctx context.Context, o options, nofile uint64) (result, error) {
	res := result{opts: o, nofile: nofile, start: time.Now(), load0: benchenv.LoadAvg()}
	tmp, err := os.MkdirTemp("", "depot-soak-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	store := filepath.Join(tmp, "store")
	slowPath, fastPath, err := prepare(store)
	if err != nil {
		return res, fmt.Errorf("prepare files: %w", err)
	}
	srv, err := startServer(ctx, tmp, store, o.serverFlags()...)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	res.procs = srv.procs
	res.idle = srv.sample(ctx)
	var slow slowDownloads = newSlowSet(srv.addr, slowPath, o.rate, o.readEvery)
	if o.slowNice >= 0 {
		if slow, err = startSlowProc(srv.addr, slowPath, o.rate, o.readEvery, o.slowNice, o.slowIdle); err != nil {
			return res, err
		}
	}
	srv.slowPid = slow.pid()
	if err = measure(ctx, o, srv, slow, fastPath, &res); err != nil {
		res.load1 = benchenv.LoadAvg()
		return res, err
	}
	res.rounds = append(res.rounds, round{alone: res.fastAlone, beside: res.fastDuring, after: res.fastAfter})
	for i := 1; i < o.rounds; i++ {
		rd, err := again(ctx, o, srv, slowPath, fastPath, res.rounds[i-1].after, res.before.goroutines)
		if err != nil {
			res.load1 = benchenv.LoadAvg()
			return res, fmt.Errorf("round %d: %w", i+1, err)
		}
		res.rounds = append(res.rounds, rd)
	}
	res.load1 = benchenv.LoadAvg()
	return res, nil
}

// again is one more round after the first: the slow downloads opened afresh, the fast client
// beside them, and alone once they are closed. Its alone-before is the last round's after.
func again(ctx context.Context, o options, srv *server, slowPath, fastPath string, before float64, goroutines int) (round, error) {
	rd := round{alone: before}
	var slow slowDownloads = newSlowSet(srv.addr, slowPath, o.rate, o.readEvery)
	if o.slowNice >= 0 {
		p, err := startSlowProc(srv.addr, slowPath, o.rate, o.readEvery, o.slowNice, o.slowIdle)
		if err != nil {
			return rd, err
		}
		slow = p
	}
	defer slow.close()
	srv.slowPid = slow.pid()
	if err := slow.open(ctx, o.n, o.batch); err != nil {
		return rd, err
	}
	if err := sleep(ctx, o.againSettle()); err != nil {
		return rd, err
	}
	var err error
	if rd.beside, _, err = fast(ctx, o, srv, fastPath, "beside"); err != nil {
		return rd, fmt.Errorf("fast client beside the slow downloads: %w", err)
	}
	if st := slow.stats(); st.reading != int64(o.n) {
		return rd, fmt.Errorf("%d of %d slow downloads reading (%d failed, %d finished; first failure: %v)", st.reading, o.n, st.failed, st.finished, st.err)
	}
	slow.close()
	if err := settleDown(ctx, srv, goroutines); err != nil {
		return rd, err
	}
	if rd.after, _, err = fast(ctx, o, srv, fastPath, "after"); err != nil {
		return rd, fmt.Errorf("fast client alone, after: %w", err)
	}
	logf("round: alone %.0f, beside %.0f, alone %.0f MiB/s; ratio %.3f", rd.alone/(1<<20), rd.beside/(1<<20), rd.after/(1<<20), rd.ratio())
	return rd, nil
}

// settleDown waits (up to 10 s) until the server let the closed slow downloads go.
func settleDown(ctx context.Context, srv *server, goroutines int) error {
	for deadline := time.Now().Add(10 * time.Second); srv.goroutines(ctx) > goroutines+10 && time.Now().Before(deadline); {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// serverFlags are the bench/server flags for -sndbuf and -notsent-lowat.
func (o options) serverFlags() []string {
	var f []string
	if o.sndbuf > 0 {
		f = append(f, "-sndbuf", strconv.Itoa(o.sndbuf))
	}
	if o.lowat != 0 {
		f = append(f, "-notsent-lowat", strconv.Itoa(o.lowat))
	}
	return f
}

// measure runs the fast client alone, beside the slow downloads and alone again.
func measure(ctx context.Context, o options, srv *server, slow slowDownloads, fastPath string, res *result) error {
	defer slow.close()
	var err error
	logf("fast client alone for %s", o.fastDur)
	if res.fastAlone, res.cpuAlone, err = fast(ctx, o, srv, fastPath, "alone"); err != nil {
		return fmt.Errorf("fast client alone: %w", err)
	}
	res.before = srv.sample(ctx)
	logf("fast client alone: %.0f MiB/s; server RSS %.1f MiB", res.fastAlone/(1<<20), mib(res.before.rssKiB))
	if err := hold(ctx, o, srv, slow, res); err != nil {
		return err
	}
	bytes0, t0 := slow.stats().bytes, time.Now()
	peak := srv.watch(ctx, time.Second)
	res.fastDuring, res.cpuDuring, err = fast(ctx, o, srv, fastPath, "beside")
	res.peak, res.after = peak(), srv.sample(ctx)
	st := slow.stats()
	res.slowRate = float64(st.bytes-bytes0) / time.Since(t0).Seconds() / float64(o.n)
	if err != nil {
		return fmt.Errorf("fast client beside the slow downloads: %w", err)
	}
	res.reading, res.finished, res.failed, res.slowErr = st.reading, st.finished, st.failed, st.err
	slow.close()
	logf("fast client beside them: %.0f MiB/s; %d of %d slow downloads still reading", res.fastDuring/(1<<20), res.reading, o.n)
	// Alone again once the server has let the slow downloads go: the two alone runs bracket
	// the one beside them, so that a change in other work on the machine shows.
	if err := settleDown(ctx, srv, res.before.goroutines); err != nil {
		return err
	}
	if res.fastAfter, res.cpuAfter, err = fast(ctx, o, srv, fastPath, "after"); err != nil {
		return fmt.Errorf("fast client alone, after: %w", err)
	}
	logf("fast client alone again: %.0f MiB/s; beside / mean alone: %.3f", res.fastAfter/(1<<20), res.ratio())
	return nil
}

// hold opens the slow downloads, waits -settle (measuring the CPU use) and samples the
// server with all of them reading.
func hold(ctx context.Context, o options, srv *server, slow slowDownloads, res *result) error {
	t0 := time.Now()
	if err := slow.open(ctx, o.n, o.batch); err != nil {
		return err
	}
	res.ramp = time.Since(t0)
	logf("%d slow downloads open in %s; settling for %s", o.n, res.ramp.Round(time.Millisecond), o.settle)
	cpu := startCPU(srv)
	if err := sleep(ctx, o.settle); err != nil {
		return err
	}
	res.cpuSlow = cpu.stop()
	res.during = srv.sample(ctx)
	if o.profile != "" {
		if err := srv.saveProfiles(ctx, o.profile); err != nil {
			return fmt.Errorf("profiles: %w", err)
		}
	}
	logf("with %d slow downloads: RSS %.1f MiB, %d goroutines, %d open files; fast client for %s",
		o.n, mib(res.during.rssKiB), res.during.goroutines, res.during.fds, o.fastDur)
	return nil
}

// fast runs the fast client for -fast-dur and returns its bytes/s and the CPU use meanwhile;
// with -profile it also saves the server's CPU profile of the run as cpu-NAME.pprof.
func fast(ctx context.Context, o options, srv *server, path, name string) (float64, cpuUse, error) {
	wait := func() error { return nil }
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return 0, cpuUse{}, err
		}
		wait = srv.cpuProfile(ctx, filepath.Join(o.profile, "cpu-"+name+".pprof"), o.fastDur-time.Second)
	}
	cpu := startCPU(srv)
	bps, err := fastRun(ctx, srv.addr, path, o.fastDur)
	use := cpu.stop()
	if perr := wait(); err == nil && perr != nil {
		err = fmt.Errorf("CPU profile: %w", perr)
	}
	return bps, use, err
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
