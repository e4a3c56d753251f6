package fastsrv

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ackResult is what one watched response reported.
type ackResult struct {
	body, acked int64
	copyErr     error
}

// ackHandler serves a file of size bytes with io.CopyN (sendfile) and watches how much of
// the body the client acknowledged.
func ackHandler(t *testing.T, size int64, out chan<- ackResult) http.Handler {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, bytes.Repeat([]byte("a"), int(size)), 0o644); err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		w.Header()["Content-Length"] = []string{itoa(size)}
		w.WriteHeader(http.StatusOK)
		aw := w.(AckWatcher)
		from := aw.Offset()
		_, err = io.CopyN(w, f, size)
		to := aw.Offset()
		aw.WatchAck(from, to, AckFunc(func(acked int64) { out <- ackResult{body: to - from, acked: acked, copyErr: err} }))
	})
}

// bigSendBuffer gives the listener's accepted sockets a send buffer of 4 MiB (root) or the
// system maximum, so that a response of a few hundred KiB is handed to the kernel whole.
func bigSendBuffer(t *testing.T, ln net.Listener) {
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 4<<20) != nil {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4<<20)
		}
	})
}

func startAck(t *testing.T, size int64, out chan ackResult) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bigSendBuffer(t, ln)
	s := New(Config{Handler: ackHandler(t, size, out), SendTimeout: 500 * time.Millisecond, AckPoll: 20 * time.Millisecond,
		NotSentLowat: -1}) // no limit: the body goes to the kernel whole
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String()
}

// dialTiny connects with a 4 KiB receive buffer (so unread bytes are not acknowledged) and
// sends a GET.
func dialTiny(t *testing.T, addr string) net.Conn {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return nil
	}}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /f HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

func waitAck(t *testing.T, out <-chan ackResult) ackResult {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement report within 10s")
		return ackResult{}
	}
}

func TestAckWatcher(t *testing.T) {
	const size = 256 << 10
	t.Run("read whole", func(t *testing.T) {
		out := make(chan ackResult, 1)
		c := dialTiny(t, startAck(t, size, out))
		resp, err := http.ReadResponse(bufioReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := io.Copy(io.Discard, resp.Body); n != size {
			t.Fatalf("read %d bytes", n)
		}
		r := waitAck(t, out)
		if r.acked != size || r.body != size {
			t.Errorf("acked %d of %d, want all %d", r.acked, r.body, size)
		}
	})
	t.Run("stops reading", func(t *testing.T) {
		out := make(chan ackResult, 1)
		c := dialTiny(t, startAck(t, size, out))
		if _, err := io.ReadFull(c, make([]byte, 16<<10)); err != nil {
			t.Fatal(err)
		}
		// The handler handed the whole body to the kernel; the client holds the connection
		// open and reads no more.
		r := waitAck(t, out)
		if r.copyErr != nil {
			t.Fatalf("the body was not handed to the kernel whole: %v", r.copyErr)
		}
		if r.acked >= size || r.acked < 8<<10 {
			t.Errorf("acked %d of %d, want the part the client took (16 KiB read, 4 KiB buffer)", r.acked, size)
		}
	})
	t.Run("closes early", func(t *testing.T) {
		out := make(chan ackResult, 1)
		c := dialTiny(t, startAck(t, size, out))
		if _, err := io.ReadFull(c, make([]byte, 16<<10)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.Close() // unread data: the kernel resets the connection
		r := waitAck(t, out)
		if r.acked >= size {
			t.Errorf("acked %d of %d after an early close", r.acked, size)
		}
		if took := time.Since(start); took > 400*time.Millisecond {
			t.Errorf("a reset took %v to resolve, want well under the 500ms send timeout", took)
		}
	})
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// TestShutdownSettlesIdleWatches: Shutdown closing a keep-alive connection whose response is
// still watched reports what the client acknowledged, not what the last poll had seen.
func TestShutdownSettlesIdleWatches(t *testing.T) {
	const size = 64 << 10
	out := make(chan ackResult, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Handler: ackHandler(t, size, out), AckPoll: time.Hour}) // no poll in this test
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	c := dialTiny(t, ln.Addr().String())
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := io.Copy(io.Discard, resp.Body); n != size {
		t.Fatalf("read %d bytes", n)
	}
	waitIdle(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := waitAck(t, out); r.acked != size {
		t.Errorf("acked %d of %d at shutdown, want all", r.acked, r.body)
	}
}

// waitIdle waits until every connection of s waits for its next request.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		busy := 0
		for c := range s.conns {
			if c.state.Load() != stateIdle {
				busy++
			}
		}
		s.mu.Unlock()
		if busy == 0 {
			return
		}
	}
	t.Fatal("a connection is still busy after 5s")
}

// startAckPoll is startAck with the sweeper's poll interval set (an hour: only the
// connection's own checks resolve watches).
func startAckPoll(t *testing.T, size int64, out chan ackResult, poll time.Duration) (*Server, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bigSendBuffer(t, ln)
	s := New(Config{Handler: ackHandler(t, size, out), AckPoll: poll, NotSentLowat: -1})
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String()
}

// TestAckAtNextRequest: on a keep-alive connection whose client reads each response before
// sending the next request, watches resolve at the connection's own check (every ackBatch
// requests, and when the client closes), without the sweeper polling.
func TestAckAtNextRequest(t *testing.T) {
	const size = 64 << 10
	const n = 2*ackBatch + 1
	out := make(chan ackResult, n)
	_, addr := startAckPoll(t, size, out, time.Hour)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for range n {
		if _, err := io.WriteString(c, "GET /f HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := io.Copy(io.Discard, resp.Body); m != size {
			t.Fatalf("read %d bytes", m)
		}
	}
	// The checks at requests ackBatch+1 and 2*ackBatch+1 resolved the first 2*ackBatch.
	for i := range 2 * ackBatch {
		if r := waitAck(t, out); r.acked != size {
			t.Fatalf("response %d: acked %d of %d, want all", i, r.acked, r.body)
		}
	}
	select {
	case r := <-out:
		t.Fatalf("the last response resolved (%d acked) before the client sent anything more", r.acked)
	case <-time.After(50 * time.Millisecond):
	}
	c.Close() // the end of the connection resolves the last one
	if r := waitAck(t, out); r.acked != size {
		t.Errorf("last response: acked %d of %d at close, want all", r.acked, r.body)
	}
}

// TestAckPipelinedUnread: a client that pipelines requests and reads nothing gets no response
// counted as acknowledged at the connection's check; closing the server resolves them with
// what the client's small receive buffer took.
func TestAckPipelinedUnread(t *testing.T) {
	const size = 128 << 10
	const n = ackBatch + 1
	out := make(chan ackResult, n)
	s, addr := startAckPoll(t, size, out, time.Hour)
	c := dialTiny(t, addr) // sends the first request
	if _, err := io.WriteString(c, strings.Repeat("GET /f HTTP/1.1\r\nHost: x\r\n\r\n", n-1)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.acksPending() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d watches pending after 5s, want %d", s.acksPending(), n)
		}
	}
	select {
	case r := <-out:
		t.Fatalf("a response nobody read resolved with %d of %d acknowledged", r.acked, r.body)
	default:
	}
	s.Close()
	var total int64
	for range n {
		r := waitAck(t, out)
		total += r.acked
	}
	if total >= size {
		t.Errorf("%d bytes acknowledged in all, want less than one response (%d): the client read nothing", total, size)
	}
}

// TestAckPollBackoff: a socket whose watch stays pending (a client that stopped reading) is
// polled less and less often, up to ackMaxBackoff intervals apart, and still resolves once
// it made no progress for SendTimeout.
func TestAckPollBackoff(t *testing.T) {
	const size = 256 << 10
	const poll = 10 * time.Millisecond
	out := make(chan ackResult, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bigSendBuffer(t, ln)
	s := New(Config{Handler: ackHandler(t, size, out), SendTimeout: 2 * time.Second, AckPoll: poll, NotSentLowat: -1})
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	c := dialTiny(t, ln.Addr().String())
	if _, err := io.ReadFull(c, make([]byte, 16<<10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := waitAck(t, out) // after SendTimeout without progress
	took := time.Since(start)
	if r.acked >= size {
		t.Fatalf("acked %d of %d from a client that stopped reading", r.acked, size)
	}
	// At one poll per tick there would be took/poll polls (200 and more); backing off to
	// ackMaxBackoff ticks apart leaves about took/(ackMaxBackoff*poll) plus the ramp.
	polls := s.ackPolls.Load()
	if limit := int64(took/(ackMaxBackoff*poll)) + 2*ackMaxBackoff; polls > limit {
		t.Errorf("%d polls over %v with a %v tick, want at most %d", polls, took.Round(time.Millisecond), poll, limit)
	}
	t.Logf("%d polls over %v", polls, took.Round(time.Millisecond))
}
