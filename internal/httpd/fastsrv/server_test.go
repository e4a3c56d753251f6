package fastsrv

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testHandler serves /file (a 100 KiB file through io.CopyN, as httpd does), /small (5 bytes
// through io.CopyN), /stream (unknown length), /echo (method, target, headers) and 404.
func testHandler(t testing.TB) http.Handler {
	dir := t.TempDir()
	big := strings.Repeat("0123456789", 10<<10)
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small"), []byte("small"), 0o644); err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file", "/small":
			f, err := os.Open(filepath.Join(dir, r.URL.Path))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer f.Close()
			st, _ := f.Stat()
			w.Header()["Content-Length"] = []string{itoa(st.Size())}
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			if r.Method != http.MethodHead {
				io.CopyN(w, f, st.Size())
			}
		case "/stream":
			io.WriteString(w, "part one,")
			io.WriteString(w, "part two")
		case "/echo":
			body := r.Method + " " + r.RequestURI + " " + r.Proto + " host=" + r.Host + " q=" + r.URL.RawQuery +
				" x=" + strings.Join(r.Header["X-Test"], "|") + " ua=" + r.Header.Get("User-Agent")
			w.Header()["Content-Length"] = []string{itoa(int64(len(body)))}
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// start runs a Server for h on 127.0.0.1 and returns its address.
func start(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// exchange writes raw to a fresh connection and reads until the server closes it.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(c)
	return string(out)
}

func TestClient(t *testing.T) {
	_, addr := start(t, Config{Handler: testHandler(t)})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/file", 200, strings.Repeat("0123456789", 10<<10)},
		{"GET", "/small", 200, "small"},
		{"HEAD", "/file", 200, ""},
		{"GET", "/stream", 200, "part one,part two"},
		{"GET", "/nothing", 404, "404 page not found\n"},
		{"GET", "/echo?a=%20b", 200, "GET /echo?a=%20b HTTP/1.1 host=" + addr + " q=a=%20b x= ua=Go-http-client/1.1"},
	} {
		for round := range 3 { // keep-alive: the same connection serves them again
			req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.method, tc.path, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != tc.status || string(b) != tc.body {
				t.Fatalf("%s %s round %d: %d %q %v, want %d %q", tc.method, tc.path, round, resp.StatusCode, b, err, tc.status, tc.body)
			}
			if tc.method == "HEAD" && resp.ContentLength != 100<<10 {
				t.Errorf("HEAD Content-Length %d", resp.ContentLength)
			}
		}
	}
}

func TestRaw(t *testing.T) {
	_, addr := start(t, Config{Handler: testHandler(t), MaxHeaderBytes: 16 << 10})
	tests := []struct {
		name, raw string
		want      []string // substrings in order
		not       string
	}{
		{"pipelined", "GET /small HTTP/1.1\r\nHost: a\r\n\r\nGET /echo HTTP/1.1\r\nHost: b\r\nX-Test: 1\r\nX-Test: 2\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			[]string{"HTTP/1.1 200 OK", "small", "host=b", "x=1|2", "Connection: close", "small"}, ""},
		{"http/1.0 closes", "GET /small HTTP/1.0\r\n\r\n", []string{"HTTP/1.1 200 OK", "Connection: close", "small"}, ""},
		{"http/1.0 keep-alive", "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /echo HTTP/1.0\r\n\r\n",
			[]string{"Connection: keep-alive", "small", "GET /echo HTTP/1.0"}, ""},
		{"http/1.0 unknown length", "GET /stream HTTP/1.0\r\n\r\n", []string{"Connection: close", "part one,part two"}, "chunked"},
		{"chunked", "GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			[]string{"Transfer-Encoding: chunked", "9\r\npart one,\r\n8\r\npart two\r\n0\r\n\r\n"}, ""},
		{"empty lines before a request", "GET /small HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			[]string{"200 OK", "small", "200 OK", "small"}, "400"},
		{"bare LF", "GET /small HTTP/1.1\nHost: a\nConnection: close\n\n", []string{"200 OK", "small"}, ""},
		{"missing host", "GET /small HTTP/1.1\r\n\r\n", []string{"400 Bad Request", "missing Host"}, ""},
		{"bad version", "GET /small HTTP/2.0\r\n\r\n", []string{"505"}, ""},
		{"bad request line", "GET\r\n\r\n", []string{"400 Bad Request"}, ""},
		{"folding", "GET /small HTTP/1.1\r\nHost: a\r\n x\r\n\r\n", []string{"400 Bad Request"}, ""},
		{"bad header name", "GET /small HTTP/1.1\r\nHost: a\r\nBad Name: 1\r\n\r\n", []string{"400 Bad Request"}, ""},
		{"uri too long", "GET /" + strings.Repeat("a", 20<<10) + " HTTP/1.1\r\nHost: a\r\n\r\n", []string{"414 Request URI Too Long"}, ""},
		{"header too large", "GET /small HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n\r\n", []string{"431"}, ""},
		{"uri of 8 KiB", "GET /echo?" + strings.Repeat("a", 8<<10) + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []string{"200 OK", "GET /echo?aaa"}, ""},
		{"body closes", "POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /small HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"Connection: close", "small"}, "abc"},
		{"head no body", "HEAD /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []string{"Content-Length: 5"}, "small"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := exchange(t, addr, tc.raw)
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q not found (in order) in:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if tc.not != "" && strings.Contains(out, tc.not) {
				t.Errorf("%q found in:\n%s", tc.not, out)
			}
		})
	}
}

// TestIdleTimeout: an idle keep-alive connection is closed after IdleTimeout.
func TestIdleTimeout(t *testing.T) {
	_, addr := start(t, Config{Handler: testHandler(t), IdleTimeout: 50 * time.Millisecond, ReadHeaderTimeout: 50 * time.Millisecond})
	for _, raw := range []string{"", "GET /small HTTP/1.1\r\n"} { // idle, and a request that stalls
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if err != io.EOF || n != 0 {
			t.Errorf("after %q: read %d, %v; want EOF (closed by the server)", raw, n, err)
		}
		c.Close()
	}
}

// TestSlowHeader: a client trickling its header one byte at a time, each byte well within the
// header timeout, is still cut off once the header as a whole is late (slowloris).
func TestSlowHeader(t *testing.T) {
	_, addr := start(t, Config{Handler: testHandler(t), IdleTimeout: time.Minute, ReadHeaderTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		c.Read(make([]byte, 1)) // returns when the server closes the connection
		close(closed)
	}()
	header := "GET /small HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("a", 400)
	for i := range len(header) {
		select {
		case <-closed:
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Write([]byte{header[i]}); err != nil {
			return
		}
	}
	t.Fatalf("the server kept a connection whose header took %d×50ms to arrive", len(header))
}

// TestShutdown: Shutdown answers the request in flight, closes idle connections and returns.
func TestShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	})
	s, addr := start(t, Config{Handler: h})
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %d, %v; want EOF", n, err)
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("request in flight: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "done" || !resp.Close {
		t.Errorf("request in flight: body %q, close %v; want done, Connection: close", b, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestConnValue: the handler's per-connection value is nil at a connection's first request,
// what the handler stored at the later ones, and nil again on a new connection.
func TestConnValue(t *testing.T) {
	var made atomic.Int32
	_, addr := start(t, Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := w.(ConnValuer).ConnValue()
		if *v == nil {
			*v = made.Add(1)
		}
		io.WriteString(w, strconv.Itoa(int((*v).(int32))))
	})})
	get := func(c *http.Client) string {
		t.Helper()
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	c1 := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer c1.CloseIdleConnections()
	if a, b, c := get(c1), get(c1), get(c1); a != "1" || b != "1" || c != "1" {
		t.Fatalf("one keep-alive connection saw values %s, %s, %s; want 1 each time", a, b, c)
	}
	c2 := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer c2.CloseIdleConnections()
	if got := get(c2); got != "2" {
		t.Fatalf("a second connection saw value %s, want its own (2)", got)
	}
}
