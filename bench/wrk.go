package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/depotfs/depot/bench/internal/benchenv"
)

// result is one side of a row: the mean of its wrk runs.
type result struct {
	reqs     float64 // requests per second
	mbps     float64 // MiB per second (body + headers, as wrk counts)
	p50, p99 time.Duration
	rssKiB   int64
	requests int64 // completed in the run(s)
	cpuTicks int64 // server CPU time over the run(s), in clock ticks
	cmds     []string
	errors   bool // wrk reported non-2xx or socket errors
}

// pairSpec is one row: server a (Depot) on aPath against server b on bPath; min is the target
// ratio a/b in req/s, or in MiB/s when byMiB (0: reported, not targeted).
type pairSpec struct {
	label        string
	a, b         *server
	aPath, bPath string
	min          float64
	// byMiB compares MiB/s: for 100 MiB files wrk completes too few requests in a run for
	// req/s to mean much, while its byte count covers the transfers in progress.
	byMiB bool
	// accounting marks the rows that compare Depot with download accounting on and off: the
	// report gives them their own section too.
	accounting bool
	// together runs the two sides at the same time, each round, instead of one after the
	// other: both servers pinned to CPU 0 share it, and both wrk to CPU 1. With the CPU split
	// evenly, the ratio of their rates is the inverse ratio of their cost per request, and a
	// change in the machine's speed over the run (other work, a neighbour on the host) hits
	// both sides alike. Only for two Depot servers (nginx's workers are pinned apart).
	together bool
}

type pairResult struct {
	spec   pairSpec
	a, b   result
	pinned bool
}

// cpuPerReq returns the server's CPU time per completed request in microseconds (0 unknown).
func (r result) cpuPerReq() float64 {
	if r.requests == 0 || r.cpuTicks <= 0 {
		return 0
	}
	return float64(r.cpuTicks) * 1e6 / benchenv.ClockTicks / float64(r.requests)
}

// cpuRatio is b's CPU time per request over a's: above 1, a (Depot) spends less per request.
func (p pairResult) cpuRatio() float64 {
	a, b := p.a.cpuPerReq(), p.b.cpuPerReq()
	if a == 0 || b == 0 {
		return 0
	}
	return b / a
}

func (p pairResult) ratio() float64 {
	if p.spec.byMiB {
		if p.b.mbps == 0 {
			return 0
		}
		return p.a.mbps / p.b.mbps
	}
	if p.b.reqs == 0 {
		return 0
	}
	return p.a.reqs / p.b.reqs
}

// runPair runs wrk against a and b alternately (or at the same time, p.together), o.rounds
// runs of o.dur/o.rounds each.
func runPair(ctx context.Context, o options, p pairSpec, pinned bool) (pairResult, error) {
	res := pairResult{spec: p, pinned: pinned}
	var as, bs []result
	half := max((o.dur / time.Duration(o.rounds)).Truncate(time.Second), time.Second) // wrk takes whole seconds
	if p.together {
		return runTogether(ctx, o, p, half, pinned)
	}
	for round := range o.rounds {
		for _, side := range []struct {
			s    *server
			path string
			out  *[]result
		}{{p.a, p.aPath, &as}, {p.b, p.bPath, &bs}} {
			raw := filepath.Join(o.raw, slug(p.label)+"--"+slug(side.s.name)+".txt")
			r, err := drive(ctx, o, half, side.s, side.path, raw, pinned, round == 0, round == 0)
			if err != nil {
				return res, err
			}
			*side.out = append(*side.out, r)
		}
	}
	res.a, res.b = mean(as), mean(bs)
	fmt.Fprintf(os.Stderr, "bench: %-60s %9.0f %9.0f req/s  ratio %.2f\n", p.label, res.a.reqs, res.b.reqs, res.ratio())
	return res, nil
}

// runTogether is runPair for p.together: each round drives both sides at once.
func runTogether(ctx context.Context, o options, p pairSpec, dur time.Duration, pinned bool) (pairResult, error) {
	res := pairResult{spec: p, pinned: pinned}
	for _, side := range []struct {
		s    *server
		path string
	}{{p.a, p.aPath}, {p.b, p.bPath}} {
		if err := warm(ctx, side.s, side.path); err != nil {
			return res, err
		}
	}
	var as, bs []result
	for round := range o.rounds {
		var ra, rb result
		var ea, eb error
		done := make(chan struct{})
		go func() {
			defer close(done)
			rb, eb = drive(ctx, o, dur, p.b, p.bPath, filepath.Join(o.raw, slug(p.label)+"--"+slug(p.b.name)+".txt"), pinned, false, round == 0)
		}()
		ra, ea = drive(ctx, o, dur, p.a, p.aPath, filepath.Join(o.raw, slug(p.label)+"--"+slug(p.a.name)+".txt"), pinned, false, round == 0)
		<-done
		if err := errors.Join(ea, eb); err != nil {
			return res, err
		}
		as, bs = append(as, ra), append(bs, rb)
		fmt.Fprintf(os.Stderr, "bench: %-60s round %d: %9.0f %9.0f req/s  ratio %.3f\n", p.label, round+1, ra.reqs, rb.reqs, ra.reqs/max(rb.reqs, 1))
	}
	res.a, res.b = mean(as), mean(bs)
	fmt.Fprintf(os.Stderr, "bench: %-60s %9.0f %9.0f req/s  ratio %.3f\n", p.label, res.a.reqs, res.b.reqs, res.ratio())
	return res, nil
}

// mean averages throughput, takes the median of the latencies and the largest RSS.
func mean(rs []result) result {
	var m result
	var p50s, p99s []time.Duration
	for _, r := range rs {
		m.reqs += r.reqs / float64(len(rs))
		m.mbps += r.mbps / float64(len(rs))
		p50s, p99s = append(p50s, r.p50), append(p99s, r.p99)
		m.rssKiB = max(m.rssKiB, r.rssKiB)
		m.requests += r.requests
		m.cpuTicks += r.cpuTicks
		m.cmds = append(m.cmds, r.cmds...)
		m.errors = m.errors || r.errors
	}
	m.p50, m.p99 = median(p50s), median(p99s)
	return m
}

// median returns the median of ds (the mean of the middle two for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return (ds[n/2-1] + ds[n/2]) / 2
}

func slug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// warm warms the page cache for path on s and checks that it answers 2xx.
func warm(ctx context.Context, s *server, path string) error {
	url := "http://" + s.addr + path
	out, err := exec.CommandContext(ctx, "wrk", "-t1", "-c1", "-d1s", url).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("Non-2xx")) {
		return fmt.Errorf("%s %s does not answer 2xx: %v\n%s", s.name, url, err, out)
	}
	return nil
}

// drive runs wrk against s for path (after warm, when set), saves the raw output (starting
// the file afresh when first), and parses it.
func drive(ctx context.Context, o options, dur time.Duration, s *server, path, rawFile string, pinned, warmUp, first bool) (result, error) {
	url := "http://" + s.addr + path
	if warmUp {
		if err := warm(ctx, s, path); err != nil {
			return result{}, err
		}
	}
	args := []string{"wrk", "-t1", "-c" + strconv.Itoa(o.conns), "-d" + strconv.Itoa(int(dur/time.Second)) + "s", "--timeout", "60s", "--latency", url}
	if pinned {
		args = append([]string{"taskset", "-c", "1"}, args...)
	} else {
		args[1] = "-t2"
	}
	rctx, cancel := context.WithTimeout(ctx, dur+30*time.Second)
	defer cancel()
	cpu0 := s.cpu()
	out, err := exec.CommandContext(rctx, args[0], args[1:]...).CombinedOutput()
	cpu1 := s.cpu()
	cmdline := strings.Join(args, " ")
	if werr := appendRaw(rawFile, append([]byte("$ "+cmdline+"\n"), out...), first); werr != nil {
		return result{}, werr
	}
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	r := parseWrk(string(out))
	if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
		fmt.Fprintf(os.Stderr, "bench: %s %s: wrk reports errors:\n%s", s.name, url, out)
		r.errors = true
	}
	r.rssKiB = s.rss()
	if cpu0 >= 0 && cpu1 >= cpu0 {
		r.cpuTicks = cpu1 - cpu0
	}
	r.cmds = []string{cmdline}
	return r, nil
}

// appendRaw appends one run's output to the row's raw file, starting it afresh when first.
func appendRaw(name string, b []byte, first bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if first {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseWrk reads Requests/sec, Transfer/sec and the 50%/99% latency lines of wrk's output.
func parseWrk(out string) result {
	var r result
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			r.requests, _ = strconv.ParseInt(f[0], 10, 64)
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.reqs, _ = strconv.ParseFloat(f[1], 64)
		case len(f) == 2 && f[0] == "Transfer/sec:":
			r.mbps = parseSize(f[1])
		case len(f) == 2 && f[0] == "50%":
			r.p50 = parseLatency(f[1])
		case len(f) == 2 && f[0] == "99%":
			r.p99 = parseLatency(f[1])
		}
	}
	return r
}

// parseLatency converts wrk's "652.50us", "3.34ms", "1.20s", "1.05m" to a duration.
func parseLatency(s string) time.Duration {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return time.Duration(f * float64(u.unit))
		}
	}
	return 0
}

// parseSize converts wrk's "12.34MB" (binary units) to MiB.
func parseSize(s string) float64 {
	units := []struct {
		suffix string
		mul    float64
	}{{"GB", 1024}, {"MB", 1}, {"KB", 1.0 / 1024}, {"B", 1.0 / (1024 * 1024)}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f * u.mul
		}
	}
	return 0
}
