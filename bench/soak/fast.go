package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/depotfs/depot/bench/internal/benchenv"
)

// fastRun downloads path from addr over one keep-alive connection from 127.0.0.1, again and
// again, for d, and returns the body bytes per second (a download cut off at d counts with
// the bytes it got).
func fastRun(ctx context.Context, addr, path string, d time.Duration) (float64, error) {
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 10 * time.Second}
	c, err := dl.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	c.SetDeadline(start.Add(d))
	br := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, 1<<20)
	req := "GET " + path + " HTTP/1.1\r\nHost: soak\r\n\r\n"
	var total int64
	for {
		n, err := fastGet(c, br, buf, req)
		total += n
		if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
			break // d is over
		}
		if err != nil {
			return 0, err
		}
	}
	return float64(total) / time.Since(start).Seconds(), nil
}

// fastGet makes one request on c and reads its body into buf, returning the body bytes read.
func fastGet(c net.Conn, br *bufio.Reader, buf []byte, req string) (int64, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("fast client: status %s", resp.Status)
	}
	var total int64
	for {
		n, err := resp.Body.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// cpuUse is where the CPU time went over a measurement, in CPUs (1 = one CPU all the time).
type cpuUse struct {
	server, soak, machine float64
	slow                  float64 // the slow-download process, when it is not the soak process
	slowApart             bool
}

// cpuMeter measures cpuUse from when startCPU is called until stop.
type cpuMeter struct {
	srv          *server
	at           time.Time
	server, soak int64
	slow         int64
	busy, total  int64
}

func startCPU(srv *server) cpuMeter {
	m := cpuMeter{srv: srv, at: time.Now(), server: srv.cpuTicks(), soak: benchenv.CPUTicks(os.Getpid())}
	if srv.slowPid != 0 && srv.slowPid != os.Getpid() {
		m.slow = benchenv.CPUTicks(srv.slowPid)
	}
	m.busy, m.total = benchenv.MachineTicks()
	return m
}

func (m cpuMeter) stop() cpuUse {
	secs := time.Since(m.at).Seconds() * benchenv.ClockTicks
	busy, total := benchenv.MachineTicks()
	u := cpuUse{
		server: float64(m.srv.cpuTicks()-m.server) / secs,
		soak:   float64(benchenv.CPUTicks(os.Getpid())-m.soak) / secs,
	}
	if m.srv.slowPid != 0 && m.srv.slowPid != os.Getpid() {
		u.slow, u.slowApart = float64(benchenv.CPUTicks(m.srv.slowPid)-m.slow)/secs, true
	}
	if total > m.total {
		u.machine = float64(busy-m.busy) / float64(total-m.total) * float64(runtime.NumCPU())
	}
	return u
}
