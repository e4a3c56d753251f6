package httpd

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/token"
)

// BenchmarkAccounting4K measures what download accounting costs a 4 KiB keep-alive download
// on the storage node's server: the same downloads with accounting off and on (in memory, no
// store), from 8 raw keep-alive connections. Besides ns/op it reports cpu-ns/op, the CPU
// time of the whole process (server and clients) per download, which a busy machine disturbs
// less than wall time: the difference between off and on is accounting's cost.
func BenchmarkAccounting4K(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) { benchAccounting(b, on) })
	}
}

func benchAccounting(b *testing.B, on bool) {
	cfg, _ := fixtureConfig(b)
	cfg.Token = TokenConfig{Check: true, Secret: "FastDFS1234567890", TTL: time.Hour}
	if on {
		a, err := accounting.New(accounting.Config{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { a.Close() })
		cfg.Accounting = a
	}
	srv, _ := startServer(b, cfg)
	remote := idBin[len("group1/"):]
	ts := fixtureNow().Unix()
	req := []byte("GET /" + idBin + "?token=" + token.Sign(cfg.Token.Secret, remote, ts) + "&ts=" +
		strconv.FormatInt(ts, 10) + " HTTP/1.1\r\nHost: depot\r\nUser-Agent: bench\r\n\r\n")
	const conns = 8
	cs := make([]net.Conn, conns)
	total := 0
	for i := range cs {
		c, err := net.Dial("tcp", srv.URL[len("http://"):])
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
		total = firstResponse(b, c, req, 4096)
	}
	var next sync.Mutex
	left := 0
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		left--
		return left >= 0
	}
	b.SetBytes(4096)
	b.ResetTimer()
	cpu0 := cpuTime()
	left = b.N
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			buf := make([]byte, total)
			for take() {
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// firstResponse sends req on c, reads the response and returns its length (header and a body
// of size bytes): every later response to req has the same.
func firstResponse(b *testing.B, c net.Conn, req []byte, size int) int {
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, total := 0, -1
	for total < 0 || n < total {
		m, err := c.Read(buf[n:])
		if err != nil {
			b.Fatalf("read: %v (%q)", err, buf[:n])
		}
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && total < 0 {
			if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
				b.Fatalf("response %q", buf[:n])
			}
			total = i + 4 + size
		}
	}
	return total
}

// cpuTime returns the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
