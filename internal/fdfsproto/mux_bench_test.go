package fdfsproto

import (
	"io"
	"net"
	"testing"
)

// BenchmarkConnectEcho measures a new connection's first round trip (dial, the HTTP/2
// preface, one echoed byte) on a plain listener and through a Mux: the difference is what
// sniffing costs a gRPC connection. It is paid once per connection, not per call.
func BenchmarkConnectEcho(b *testing.B) {
	preface := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	echo := func(l net.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, len(preface))
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf[:1])
				}
			}()
		}
	}
	run := func(b *testing.B, addr string) {
		one := make([]byte, 1)
		for b.Loop() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			c.Write(preface)
			if _, err := io.ReadFull(c, one); err != nil {
				b.Fatal(err)
			}
			c.Close()
		}
	}
	b.Run("direct", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go echo(ln)
		run(b, ln.Addr().String())
	})
	b.Run("mux", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		m := NewMux(ln, 0, nil)
		defer m.Close()
		go echo(m.GRPC())
		run(b, ln.Addr().String())
	})
}
