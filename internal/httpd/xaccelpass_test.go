package httpd

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestXAccelPassThrough: an answer without X-Accel-Redirect goes to the client as it is,
// minus hop-by-hop and X-Accel-* headers.
func TestXAccelPassThrough(t *testing.T) {
	up := startApp(t, func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-App", "yes")
		hd.Set("X-Accel-Buffering", "no")
		hd.Set("Connection", "X-Drop")
		hd.Set("X-Drop", "1")
		hd.Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "not yours\n")
	})
	srv, _ := startServer(t, xaccelConfig(t, up.URL))
	resp, body := fetch(t, "GET", srv.URL+"/dl/x", nil)
	if resp.StatusCode != http.StatusNotFound || string(body) != "not yours\n" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "X-App", "yes")
	wantHeader(t, resp, "Content-Type", "text/plain")
	wantHeader(t, resp, "X-Accel-Buffering", "")
	wantHeader(t, resp, "X-Drop", "")
}

// TestXAccelStreams: a passed-through body reaches the client while the app is still writing.
func TestXAccelStreams(t *testing.T) {
	release := make(chan struct{})
	up := startApp(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "second\n")
	})
	cfg := xaccelConfig(t, up.URL)
	cfg.XAccel.Timeout = 5 * time.Second
	srv, _ := startServer(t, cfg)
	resp, err := http.Get(srv.URL + "/dl/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	start := time.Now()
	if line, err := br.ReadString('\n'); line != "first\n" || err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("first line %q, %v after %v: the body was held back", line, err, time.Since(start))
	}
	close(release)
	if rest, err := io.ReadAll(br); string(rest) != "second\n" || err != nil {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// TestXAccelAppFails: a slow app is 504 and a down one 502, within the timeout; an app that
// stalls in the middle of its body does not hold the client past the timeout (the body is cut),
// nor one that stalls after an X-Accel-Redirect header (the file is served).
func TestXAccelAppFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	stall := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	for _, tc := range []struct {
		name   string
		app    http.HandlerFunc // nil: down
		status int
		body   string
		cut    bool // the client sees the body end early
	}{
		{"down", nil, http.StatusBadGateway, "the app is unreachable\n", false},
		{"slow headers", func(w http.ResponseWriter, r *http.Request) { stall(r) }, http.StatusGatewayTimeout, "the app did not answer in time\n", false},
		{"stalled body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			stall(r)
		}, http.StatusOK, "0123456789", true},
		{"stalled chunked body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			stall(r)
		}, http.StatusOK, "0123456789", true},
		{"stalled body after X-Accel-Redirect", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Accel-Redirect", "/"+idTxt)
			io.WriteString(w, "0123456789")
			w.(http.Flusher).Flush()
			stall(r)
		}, http.StatusOK, string(fixtureBytes(t, idTxt)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upstream := down
			if tc.app != nil {
				upstream = startApp(t, tc.app).URL
			}
			srv, _ := startServer(t, xaccelConfig(t, upstream))
			start := time.Now()
			resp, err := http.Get(srv.URL + "/dl/x")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			t.Logf("status %d after %v, read error %v", resp.StatusCode, took, err)
			if took > 300*time.Millisecond+time.Second {
				t.Errorf("took %v with a 300ms timeout", took)
			}
			if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Fatalf("status %d body %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.cut != errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("body ended with %v; want unexpected EOF only for a cut one (cut %v)", err, tc.cut)
			}
		})
	}
}

// TestXAccelAccessLog: the access log gets the status and body bytes of both kinds of answer.
func TestXAccelAccessLog(t *testing.T) {
	up := startApp(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dl/file" {
			w.Header().Set("X-Accel-Redirect", "/"+idBin)
			return
		}
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "short and stout")
	})
	cfg := xaccelConfig(t, up.URL)
	var out syncBuffer
	cfg.AccessLog = &out
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := serveHandler(t, h)
	fetch(t, "GET", ts.URL+"/dl/file", map[string]string{"Range": "bytes=0-9"})
	fetch(t, "GET", ts.URL+"/dl/pot", nil)
	ts.Close()
	h.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{`"GET /dl/file HTTP/1.1" 206 10 `, `"GET /dl/pot HTTP/1.1" 418 15 `}
	if len(lines) != len(want) {
		t.Fatalf("log %q", out.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %q lacks %q", lines[i], w)
		}
	}
}
