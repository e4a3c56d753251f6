package fdfsproto

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func frame(cmd byte, body []byte) []byte {
	return append(Header{Len: int64(len(body)), Cmd: cmd}.Bytes(), body...)
}

// FuzzParseHeader: any 10 bytes decode or fail, and what decodes encodes back the same.
func FuzzParseHeader(f *testing.F) {
	f.Add(frame(CmdUpload, nil))
	f.Add([]byte("PRI * HTTP/2.0\r\n"))
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 11, 0})
	f.Add([]byte{0, 0, 1, 0, 0, 0, 0, 0, 11, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		if h.Len < 0 || h.Len > MaxPkgLen {
			t.Fatalf("accepted pkg_len %d", h.Len)
		}
		if got := h.Bytes(); !bytes.Equal(got, b[:HeaderSize]) {
			t.Fatalf("round trip: %x, want %x", got, b[:HeaderSize])
		}
	})
}

// FuzzServe drives the server loop with arbitrary bytes through a handler that uses every
// body reader: it must answer or close, never panic, hang, or allocate by a forged length.
func FuzzServe(f *testing.F) {
	f.Add(frame(CmdActiveTest, nil))
	f.Add(append(frame(1, []byte("abc")), frame(CmdActiveTest, nil)...))
	f.Add(append(frame(2, bytes.Repeat([]byte{7}, 40)), frame(CmdQuit, nil)...))
	f.Add(frame(3, []byte("0123456789abcdef")))
	f.Add([]byte{0, 0, 0, 0x10, 0, 0, 0, 0, 1, 0, 'x'})     // forged 64 GiB small body
	f.Add([]byte{0, 0, 0, 0x10, 0, 0, 0, 0, 2, 0, 'x'})     // forged 64 GiB stream
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 5, CmdActiveTest, 0}) // active test with a body
	f.Fuzz(func(t *testing.T, data []byte) {
		h := HandlerFunc(func(ctx context.Context, c *Conn, h Header) error {
			switch h.Cmd % 4 {
			case 1:
				b, err := c.ReadBody(1024)
				if err != nil {
					return err
				}
				return c.Reply(StatusOK, b)
			case 2:
				n, err := io.Copy(io.Discard, c.Body())
				if err != nil {
					return err
				}
				return c.Reply(StatusOK, AppendInt64(nil, n))
			case 3:
				var p [16]byte
				if err := c.ReadFull(p[:]); err != nil {
					return err
				}
				return c.Reply(StatusOK, p[:])
			}
			return Fail(StatusNoSys, errors.New("unknown"))
		})
		runServe(t, h, data)
	})
}

// runServe serves data on one loopback connection, half-closes it, and returns all the
// answers; the server's goroutine must end.
func runServe(t *testing.T, h Handler, data []byte) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(h, Options{NetworkTimeout: time.Second})
	if !s.track(server) {
		t.Fatal("server closed")
	}
	done := make(chan struct{})
	go func() { s.serveConn(server); close(done) }()
	go func() { client.Write(data); client.(*net.TCPConn).CloseWrite() }()
	var out bytes.Buffer
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(&out, client)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("server goroutine did not end")
	}
	return out.Bytes()
}

func TestReadSmallForgedLength(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		_, err := ReadSmall(bytes.NewReader([]byte("short")), 1<<40, 64<<10)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("forged length: %v, want ErrTooLarge", err)
		}
		_, err = ReadSmall(bytes.NewReader([]byte("short")), 60<<10, 64<<10)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("short body: %v, want ErrUnexpectedEOF", err)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 100*(64<<10)+1<<20 {
		t.Fatalf("allocated %d bytes for 100 bounded reads", d)
	}
}
