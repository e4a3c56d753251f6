package fdfsproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func startMux(t *testing.T, timeout time.Duration) *Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln, timeout, nil)
	t.Cleanup(func() { m.Close() })
	return m
}

func acceptWithin(t *testing.T, l net.Listener, d time.Duration) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
		close(got)
	}()
	select {
	case c, ok := <-got:
		if !ok {
			t.Fatal("accept failed")
		}
		return c
	case <-time.After(d):
		t.Fatal("no connection handed on")
	}
	return nil
}

// Each side gets its connections with the sniffed bytes intact.
func TestMuxSorts(t *testing.T) {
	m := startMux(t, 5*time.Second)
	for _, tc := range []struct {
		name  string
		first []byte
		to    net.Listener
	}{
		{"gRPC", []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04"), m.GRPC()},
		{"FastDFS", append(Header{Len: 3, Cmd: CmdUpload}.Bytes(), "abc"...), m.Native()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", m.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tc.first)
			s := acceptWithin(t, tc.to, 5*time.Second)
			defer s.Close()
			got := make([]byte, len(tc.first))
			s.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(s, got); err != nil || !bytes.Equal(got, tc.first) {
				t.Fatalf("read %q (%v), want %q", got, err, tc.first)
			}
		})
	}
}

// Neither protocol, silence, or half a header: closed, handed to no one.
func TestMuxCloses(t *testing.T) {
	m := startMux(t, 200*time.Millisecond)
	for _, first := range [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n"), nil, {0, 0}} {
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(first)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("first bytes %q: not closed", first)
			}
		}
		c.Close()
	}
}

// Close ends the goroutines of connections being sniffed and both sides' Accept.
func TestMuxCloseLeavesNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMux(ln, time.Minute, nil)
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	errs := make(chan error, 2)
	go func() { _, err := m.GRPC().Accept(); errs <- err }()
	go func() { _, err := m.Native().Accept(); errs <- err }()
	time.Sleep(50 * time.Millisecond) // let the sniffs start: Close must end them, not the minute
	m.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a pending connection stayed open")
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}
