package fastsrv

import (
	"net"
	"net/http"
	"reflect"
	"testing"
)

// FuzzParse parses two header blocks on one connection and the second on a fresh one: the
// parser must not panic, and reusing the previous request's strings must not change what the
// handler sees.
func FuzzParse(f *testing.F) {
	f.Add([]byte("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n"), []byte("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-2\r\n\r\n"))
	f.Add([]byte("HEAD /x HTTP/1.0\nConnection: keep-alive\n\n"), []byte("GET http://h/p HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n"))
	f.Add([]byte("\r\nGET * HTTP/1.1\r\nHost:\r\n\r\n"), []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"))
	s := New(Config{Handler: http.NotFoundHandler()})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		c1, c2 := fuzzConn(s), fuzzConn(s)
		c1.parse(a)
		st1, _ := c1.parse(b)
		st2, _ := c2.parse(b)
		if st1 != st2 {
			t.Fatalf("status %d after a previous request, %d fresh", st1, st2)
		}
		if st1 != 0 {
			return
		}
		r1, r2 := c1.req, c2.req
		if r1.Method != r2.Method || r1.RequestURI != r2.RequestURI || r1.Host != r2.Host || r1.Close != r2.Close ||
			r1.Proto != r2.Proto || r1.URL.String() != r2.URL.String() || !reflect.DeepEqual(r1.Header, r2.Header) {
			t.Fatalf("reused parse differs:\n%+v\n%+v", r1, r2)
		}
	})
}

func fuzzConn(s *Server) *conn {
	a, b := net.Pipe()
	a.Close()
	b.Close()
	return newConn(s, a)
}
