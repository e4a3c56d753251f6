package httpd

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// combined matches nginx's combined format followed by $request_time.
var combined = regexp.MustCompile(`^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)" (\d+\.\d{3})$`)

func TestAccessLog(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	var out syncBuffer
	cfg.AccessLog = &out
	cfg.Now = func() time.Time { return time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("", 3600)) }
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := serveHandler(t, h)
	srv := ts.URL
	reqs := []struct {
		method, path string
		hdr          map[string]string
		request      string
		status, sent string
		referer, ua  string
	}{
		{"GET", "/" + idBin, map[string]string{"User-Agent": "curl/8.0", "Referer": "http://x/"},
			"GET /" + idBin + " HTTP/1.1", "200", "4096", "http://x/", "curl/8.0"},
		{"GET", "/" + idTr3, map[string]string{"Range": "bytes=0-99", "User-Agent": `a"b`},
			"GET /" + idTr3 + " HTTP/1.1", "206", "100", "-", `a\x22b`},
		{"HEAD", "/" + idBin, nil, "HEAD /" + idBin + " HTTP/1.1", "200", "0", "-", "Go-http-client/1.1"},
		{"GET", "/" + idMissing + "?q=%E6", nil, "GET /" + idMissing + "?q=%E6 HTTP/1.1", "404", "15", "-", "Go-http-client/1.1"},
	}
	for _, r := range reqs {
		fetch(t, r.method, srv+r.path, r.hdr)
	}
	ts.Close()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(reqs) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(reqs), out.String())
	}
	for i, r := range reqs {
		m := combined.FindStringSubmatch(lines[i])
		if m == nil {
			t.Errorf("line %d not in combined format: %q", i, lines[i])
			continue
		}
		got := []string{m[1], m[2], m[3], m[4], m[5], m[6], m[7]}
		want := []string{"127.0.0.1", "23/Nov/2026:09:30:00 +0100", r.request, r.status, r.sent, r.referer, r.ua}
		for j := range got {
			if got[j] != want[j] {
				t.Errorf("line %d field %d: %q, want %q (%s)", i, j, got[j], want[j], lines[i])
			}
		}
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct{ release chan struct{} }

func (b *blockingWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// TestAccessLogNeverBlocks: with the writer stuck, requests still complete and lines are
// dropped and counted.
func TestAccessLogNeverBlocks(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	bw := &blockingWriter{release: make(chan struct{})}
	cfg.AccessLog = bw
	cfg.AccessLogBuffer = 1
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := serveHandler(t, h)
	srv := ts.URL
	for range 20 {
		resp, _ := fetch(t, "GET", srv+"/"+idBin, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if h.DroppedLogLines() == 0 {
		t.Error("no line dropped although the writer is stuck")
	}
	close(bw.release)
	ts.Close()
	h.Close()
}
