package fdfsproto

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// Shutdown closes idle connections at once, lets a request in flight answer, then closes
// its connection.
func TestServerShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, c *Conn, h Header) error {
		close(started)
		<-release
		return c.Reply(StatusOK, []byte("done"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, Options{NetworkTimeout: time.Minute})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Write(Header{Cmd: CmdActiveTest}.Bytes())
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(idle, hb[:]); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busy.Write(Header{Cmd: 1}.Bytes())
	<-started

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(hb[:]); err == nil {
		t.Fatalf("idle connection still open after Shutdown (read %d bytes)", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("idle connection not closed by Shutdown")
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(busy)
	if want := append(Header{Len: 4, Cmd: CmdResp}.Bytes(), "done"...); !bytes.Equal(got, want) {
		t.Fatalf("in-flight request got % x, want % x then a close", got, want)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
