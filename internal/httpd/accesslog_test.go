package httpd

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/logfile"
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

// TestAccessLogRotates: goroutines serving requests at full speed through the access log into
// a rotating file, while the file's clock crosses midnights and files reach their size limit:
// every request's line is in exactly one file, whole.
func TestAccessLogRotates(t *testing.T) {
	const workers, requests = 6, 400
	cfg, _ := fixtureConfig(t)
	dir := t.TempDir()
	var mu sync.Mutex
	clock := time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	lw, err := logfile.Open(logfile.Options{Path: filepath.Join(dir, "access.log"), RotateDaily: true, RotateSize: 8 << 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cfg.AccessLog, cfg.AccessLogFormat = lw, `$remote_addr "$request" $status $args`
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests {
				r := httptest.NewRequest("GET", fmt.Sprintf("/%s?req=%d-%d", idBin, g, i), nil)
				h.ServeHTTP(httptest.NewRecorder(), r)
				if g == 0 && i%50 == 0 {
					mu.Lock()
					clock = clock.Add(6 * time.Hour)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if h.DroppedLogLines() != 0 {
		t.Fatalf("%d lines dropped", h.DroppedLogLines())
	}
	seen := map[string]int{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if f := strings.Fields(l); len(f) == 6 && f[4] == "200" {
				seen[f[5]]++
			} else if l != "" {
				t.Errorf("%s: torn line %q", e.Name(), l)
			}
		}
	}
	for g := range workers {
		for i := range requests {
			if k := fmt.Sprintf("req=%d-%d", g, i); seen[k] != 1 {
				t.Fatalf("%s logged %d times", k, seen[k])
			}
		}
	}
	if len(entries) < 4 {
		t.Errorf("%d files: the test did not rotate much", len(entries))
	}
}
