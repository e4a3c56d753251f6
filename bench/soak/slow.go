package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// rcvBuf is each slow download's SO_RCVBUF: with a small receive window the server cannot
	// push the file into the client's socket and is left holding the download.
	rcvBuf = 4 << 10
	// sources is how many loopback addresses the slow downloads come from: 127.0.0.2 onwards.
	sources = 8
	// stallTimeout bounds every read of a slow download.
	stallTimeout = 30 * time.Second
	// minRead is the smallest read (-rate × -read-every): the first must hold the response
	// header.
	minRead = 512
)

// slowSet is the slow downloads: one goroutine each, reading rate×every bytes every every
// (rate bytes a second on average) with a buffer of that size.
type slowSet struct {
	addr, path string
	rate       int
	every      time.Duration

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	first  error // the first failure
	stop   chan struct{}
	wg     sync.WaitGroup

	reading, finished, failed atomic.Int64
	bytes                     atomic.Int64 // read by all of them
}

func newSlowSet(addr, path string, rate int, every time.Duration) *slowSet {
	return &slowSet{addr: addr, path: path, rate: rate, every: every, stop: make(chan struct{})}
}

// readSize is how many bytes a slow download reads at a time.
func readSize(rate int, every time.Duration) int {
	return int(int64(rate) * int64(every) / int64(time.Second))
}

// open starts n slow downloads, batch at a time: a batch is started when every download of
// the one before has its response header. It fails on the first download that fails.
func (s *slowSet) open(ctx context.Context, n, batch int) error {
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		ready := make(chan error, k)
		for i := range k {
			s.wg.Add(1)
			go s.download(ctx, start+i, ready)
		}
		for range k {
			select {
			case err := <-ready:
				if err != nil {
					return fmt.Errorf("a slow download of the batch from %d failed (%d of %d reading): %w", start, s.reading.Load(), n, err)
				}
			case <-ctx.Done():
				return fmt.Errorf("opening slow downloads: %d of %d reading: %w", s.reading.Load(), n, ctx.Err())
			}
		}
		if done := start + k; done%(10*batch) == 0 || done == n {
			logf("%d slow downloads reading", done)
		}
	}
	return nil
}

// download is one slow download: it reports to ready once it has the response header (or
// failed), then reads s.rate×s.every bytes every s.every until the body ends or the set is
// closed.
func (s *slowSet) download(ctx context.Context, i int, ready chan<- error) {
	defer s.wg.Done()
	c, err := s.dial(ctx, i)
	if err != nil {
		s.fail(err)
		ready <- err
		return
	}
	defer c.Close()
	buf := make([]byte, readSize(s.rate, s.every))
	left, err := s.start(c, buf)
	if err != nil {
		s.fail(err)
		ready <- err
		return
	}
	s.reading.Add(1)
	ready <- nil
	t := time.NewTimer(s.every)
	defer t.Stop()
	for left > 0 {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		t.Reset(s.every)
		c.SetReadDeadline(time.Now().Add(stallTimeout))
		n, err := io.ReadFull(c, buf[:min(int64(len(buf)), left)])
		s.bytes.Add(int64(n))
		left -= int64(n)
		if err != nil {
			s.reading.Add(-1)
			if !s.isClosed() {
				s.fail(err)
			}
			return
		}
	}
	s.reading.Add(-1)
	s.finished.Add(1)
}

// dial connects from 127.0.0.(2 + i%sources) with the small receive buffer and registers the
// connection for close.
func (s *slowSet) dial(ctx context.Context, i int) (net.Conn, error) {
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%sources))},
		Timeout:   10 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error { // before connect: sets the window scale
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			}); err != nil {
				return err
			}
			return serr
		},
	}
	c, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, errClosed
	}
	s.conns = append(s.conns, c)
	return c, nil
}

var errClosed = errors.New("slow downloads closed")

// start sends the request and reads the first len(buf) bytes, which must hold a 200 header;
// it returns how many bytes of the response are left.
func (s *slowSet) start(c net.Conn, buf []byte) (int64, error) {
	c.SetDeadline(time.Now().Add(stallTimeout))
	if _, err := io.WriteString(c, "GET "+s.path+" HTTP/1.1\r\nHost: soak\r\n\r\n"); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(c, buf)
	s.bytes.Add(int64(n))
	if err != nil {
		return 0, err
	}
	head, _, ok := bytes.Cut(buf, []byte("\r\n\r\n"))
	if !ok {
		return 0, fmt.Errorf("no response header in the first %d bytes", len(buf))
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return 0, fmt.Errorf("response %q", line)
	}
	size := int64(-1)
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			size, _ = strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	if size < 0 {
		return 0, errors.New("response without Content-Length")
	}
	return int64(len(head)) + 4 + size - int64(n), nil
}

func (s *slowSet) fail(err error) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first == nil {
		s.first = err
	}
}

// err returns the first failure, or nil.
func (s *slowSet) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first
}

func (s *slowSet) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// close ends every slow download, closes its connection and waits for the goroutines (at
// most 10 s). It may be called more than once.
func (s *slowSet) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		logf("slow downloads: goroutines still running 10 s after close")
	}
}
