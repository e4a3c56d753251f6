package fastsrv

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/certs/certstest"
)

// startTLS runs an HTTPS Server for h with a certificate of a fresh test CA and returns the
// address and a client trusting that CA only.
func startTLS(t *testing.T, h http.Handler) (*Server, string, *http.Client) {
	t.Helper()
	ca := certstest.New(t)
	s, addr := start(t, Config{Handler: h, TLS: ca.ServerConfig(t, "fastsrv")})
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig(), DisableCompression: true}}
	t.Cleanup(cl.CloseIdleConnections)
	return s, addr, cl
}

// TestTLSDownload: file bodies large and small, over one keep-alive connection, through
// crypto/tls (not sendfile), with the handler seeing the request's TLS state.
func TestTLSDownload(t *testing.T) {
	files := testHandler(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tls" {
			if r.TLS == nil {
				io.WriteString(w, "no TLS state")
				return
			}
			io.WriteString(w, "tls "+strconv.FormatBool(r.TLS.HandshakeComplete)+" "+r.TLS.ServerName)
			return
		}
		files.ServeHTTP(w, r)
	})
	s, addr, cl := startTLS(t, h)
	get := func(path string) string {
		t.Helper()
		resp, err := cl.Get("https://localhost:" + port(addr) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: body: %v", path, err)
		}
		return string(b)
	}
	want := strings.Repeat("0123456789", 10<<10)
	for range 2 {
		if got := get("/file"); got != want {
			t.Fatalf("/file over TLS: %d bytes, want %d (equal: %v)", len(got), len(want), got == want)
		}
		if got := get("/small"); got != "small" {
			t.Fatalf("/small over TLS: %q", got)
		}
	}
	if got := get("/stream"); got != "part one,part two" {
		t.Fatalf("/stream over TLS: %q", got)
	}
	if got := get("/tls"); got != "tls true localhost" {
		t.Fatalf("request TLS state: %q", got)
	}
	bc := s.Bodies()
	if bc.TLS != 4 || bc.Sendfile != 0 || bc.Copied != 0 {
		t.Fatalf("bodies %+v, want 4 through TLS and none by sendfile or copy", bc)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestTLSPlainClient: plain HTTP to the HTTPS port gets a 400 that says what is wrong.
func TestTLSPlainClient(t *testing.T) {
	_, addr, _ := startTLS(t, testHandler(t))
	got := exchange(t, addr, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.0 400 ") || !strings.Contains(got, "serves HTTPS") {
		t.Fatalf("plain request to the TLS port got %q", got)
	}
	// And a TLS client to a plain port fails its handshake, not silently.
	_, plain := start(t, Config{Handler: testHandler(t)})
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", plain, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		c.Close()
		t.Fatal("TLS handshake with a plain port succeeded")
	}
}

// TestTLSUntrusted: a client that does not trust the server's CA refuses the connection.
func TestTLSUntrusted(t *testing.T) {
	_, addr, _ := startTLS(t, testHandler(t))
	other := certstest.New(t)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: other.ClientConfig()}}
	defer cl.CloseIdleConnections()
	if resp, err := cl.Get("https://127.0.0.1:" + port(addr) + "/small"); err == nil {
		resp.Body.Close()
		t.Fatal("a client trusting another CA downloaded")
	}
}

// TestTLSAcked: the acknowledgement watch works on the TCP socket under TLS, in bytes on the
// wire: a client that read the whole body acknowledged all of the body's records.
func TestTLSAcked(t *testing.T) {
	const size = 300 << 10
	out := make(chan ackResult, 1)
	_, addr, cl := startTLS(t, ackHandler(t, size, out))
	resp, err := cl.Get("https://127.0.0.1:" + port(addr) + "/")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, err %v; want %d", n, err, size)
	}
	select {
	case r := <-out:
		if r.body < size || r.body > size+size/100 {
			t.Fatalf("watched range %d bytes on the wire for a %d-byte body: want the body plus record overhead", r.body, size)
		}
		if r.acked != r.body {
			t.Fatalf("acked %d of %d", r.acked, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no acknowledgement report")
	}
}

// TestTLSHandshakeTimeout: a client that connects and says nothing is closed after
// ReadHeaderTimeout instead of holding a goroutine.
func TestTLSHandshakeTimeout(t *testing.T) {
	ca := certstest.New(t)
	_, addr := start(t, Config{Handler: testHandler(t), TLS: ca.ServerConfig(t, "s"), ReadHeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err != io.EOF {
		t.Fatalf("silent client: read %v, want EOF from the server closing", err)
	}
}

// BenchmarkDownloadTLS compares a file download over plain HTTP (sendfile above CopyBelow) and
// over HTTPS (buffered through crypto/tls) on one keep-alive loopback connection.
func BenchmarkDownloadTLS(b *testing.B) {
	dir := b.TempDir()
	for _, size := range []int{4 << 10, 1 << 20} {
		path := filepath.Join(dir, strconv.Itoa(size))
		if err := os.WriteFile(path, bytes.Repeat([]byte{'x'}, size), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, r.URL.Path[1:]))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, _ := f.Stat()
		w.Header()["Content-Length"] = []string{itoa(st.Size())}
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		io.CopyN(w, f, st.Size())
	})
	ca := certstest.New(b)
	for _, mode := range []string{"plain", "tls"} {
		cfg := Config{Handler: h}
		cl := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		scheme := "http://"
		if mode == "tls" {
			cfg.TLS = ca.ServerConfig(b, "bench")
			cl.Transport.(*http.Transport).TLSClientConfig = ca.ClientConfig()
			scheme = "https://"
		}
		_, addr := start(b, cfg)
		for _, size := range []int{4 << 10, 1 << 20} {
			b.Run(mode+"/"+strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
				url := scheme + addr + "/" + strconv.Itoa(size)
				b.SetBytes(int64(size))
				for b.Loop() {
					resp, err := cl.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		cl.CloseIdleConnections()
	}
}
