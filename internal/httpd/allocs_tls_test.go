package httpd

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/certs/certstest"
)

// maxTLSDownloadAllocs bounds the heap objects of a repeated 4 KiB download over HTTPS,
// client included. Measured (go1.26): 4 = the 2 of plain HTTP + 1 per crypto/tls record read
// on each side (tls.Conn.readFromUntil's atLeastReader escapes: the server's read of the
// request, the client's of the response). The body itself goes through the connection's
// pooled buffer and costs nothing.
const maxTLSDownloadAllocs = 4

// TestDownloadAllocsTLS is TestDownloadAllocs over HTTPS, without a token.
func TestDownloadAllocsTLS(t *testing.T) {
	if raceEnabled || *netHTTP {
		t.Skip("the race detector allocates on its own; net/http is not the storage node's server")
	}
	for _, tc := range []struct {
		id   string
		size int
	}{{idBin, 4096}, {idTr1, 1000}} {
		t.Run(tc.id, func(t *testing.T) {
			cfg, _ := fixtureConfig(t)
			h, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			ca := certstest.New(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			serveTLSOn(t, ln, h, ca.ServerConfig(t, "node"))
			c, err := tls.Dial("tcp", ln.Addr().String(), ca.ClientConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req := []byte("GET /" + tc.id + " HTTP/1.1\r\nHost: depot\r\nUser-Agent: allocs\r\n\r\n")
			buf := make([]byte, 64<<10)
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			n, total := 0, -1
			for total < 0 || n < total {
				m, err := c.Read(buf[n:])
				if err != nil {
					t.Fatalf("read: %v (%q)", err, buf[:n])
				}
				n += m
				if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && total < 0 {
					if !strings.HasPrefix(string(buf[:12]), "HTTP/1.1 200") {
						t.Fatalf("response %q", buf[:n])
					}
					total = i + 4 + tc.size
				}
			}
			allocs := testing.AllocsPerRun(500, func() {
				if _, err := c.Write(req); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf[:total]); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%.1f allocations per %d-byte download over TLS", allocs, tc.size)
			if allocs > maxTLSDownloadAllocs {
				t.Errorf("a %d-byte download over TLS allocates %.1f objects, want <= %d", tc.size, allocs, maxTLSDownloadAllocs)
			}
		})
	}
}
