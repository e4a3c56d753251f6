package httpd

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const etagBin = `"8921b602-1000"`

// startApp serves an X-Accel app on loopback until the test ends.
func startApp(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	return app
}

// xaccelConfig is the fixture store with tokens checked and /dl/ going to upstream.
func xaccelConfig(t *testing.T, upstream string) Config {
	t.Helper()
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: "FastDFS1234567890", TTL: time.Hour}
	cfg.XAccel = XAccelConfig{Prefix: "/dl/", Upstream: upstream, Timeout: 300 * time.Millisecond}
	return cfg
}

// redirectApp names a stored file for every request, with the headers nginx apps send; the
// last request's header is kept.
type redirectApp struct {
	mu   sync.Mutex
	last *http.Request
}

func (a *redirectApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.last = r.Clone(r.Context())
	a.mu.Unlock()
	hd := w.Header()
	switch r.URL.Path {
	case "/dl/query":
		hd.Set("X-Accel-Redirect", "/"+idTxt+"?filename=q.txt")
	default:
		hd.Set("X-Accel-Redirect", "/"+idBin)
		hd.Set("Content-Disposition", `attachment; filename="r.bin"`)
		hd.Set("Content-Type", "application/x-report")
		hd.Set("X-Accel-Limit-Rate", "1M")
		hd.Set("X-Depot-User", "alice")
		hd.Set("Cache-Control", "private, max-age=60")
		io.WriteString(w, "APP BODY: never for the client")
	}
}

func (a *redirectApp) lastRequest() *http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// TestXAccelRedirect: the file an X-Accel-Redirect names is served here with the app's
// headers and the client's Range and conditionals, without a token or an auth ask.
func TestXAccelRedirect(t *testing.T) {
	app := &redirectApp{}
	up := startApp(t, app.ServeHTTP)
	auth := startAuthApp(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	cfg := xaccelConfig(t, up.URL)
	cfg.AuthRequest = AuthRequestConfig{URL: auth.URL}
	srv, _ := startServer(t, cfg)
	bin := fixtureBytes(t, idBin)
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		body               []byte
		want               map[string]string
	}{
		{"get", "GET", "/dl/report/7?x=1", map[string]string{"Cookie": "s=1"}, 200, bin, map[string]string{
			"Content-Disposition": `attachment; filename="r.bin"`, "Content-Type": "application/x-report",
			"Cache-Control": "private, max-age=60", "Etag": etagBin, "Content-Length": "4096",
			"X-Accel-Redirect": "", "X-Accel-Limit-Rate": "",
		}},
		{"range", "GET", "/dl/report/7", map[string]string{"Range": "bytes=10-19"}, 206, bin[10:20], map[string]string{
			"Content-Range": "bytes 10-19/4096", "Content-Disposition": `attachment; filename="r.bin"`,
		}},
		{"if-none-match", "GET", "/dl/report/7", map[string]string{"If-None-Match": etagBin}, 304, []byte{}, map[string]string{
			"Etag": etagBin,
		}},
		{"head", "HEAD", "/dl/report/7", nil, 200, []byte{}, map[string]string{"Content-Length": "4096"}},
		{"query of the redirect", "GET", "/dl/query", nil, 200, fixtureBytes(t, idTxt), map[string]string{
			"Content-Disposition": `attachment; filename="q.txt"`, "Content-Type": "text/plain",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, tc.method, srv.URL+tc.path, tc.hdr)
			if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
				t.Fatalf("status %d body %q (%d bytes), want %d, %d bytes", resp.StatusCode, body[:min(len(body), 40)], len(body), tc.status, len(tc.body))
			}
			for k, v := range tc.want {
				wantHeader(t, resp, k, v)
			}
		})
	}
	got := app.lastRequest()
	if got.URL.Path != "/dl/query" {
		t.Errorf("app got path %q", got.URL.Path)
	}
	if resp, _ := fetch(t, "GET", srv.URL+"/dl/report/7?x=1", map[string]string{"Cookie": "s=1", "X-Forwarded-For": "10.1.1.1"}); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got = app.lastRequest()
	for k, want := range map[string]string{"X-Real-IP": "127.0.0.1", "X-Forwarded-For": "10.1.1.1, 127.0.0.1", "Cookie": "s=1"} {
		if got.Header.Get(k) != want {
			t.Errorf("app got %s %q, want %q", k, got.Header.Get(k), want)
		}
	}
	if got.URL.RequestURI() != "/dl/report/7?x=1" {
		t.Errorf("app got %q, want /dl/report/7?x=1", got.URL.RequestURI())
	}
	if n := auth.asks.Load(); n != 0 {
		t.Errorf("the auth service was asked %d times for the app's paths", n)
	}
	if resp, _ := fetch(t, "GET", srv.URL+"/"+idBin, nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the file's own URL without a token: status %d, want 400", resp.StatusCode)
	}
}

// TestXAccelBadRedirect: an X-Accel-Redirect that is not a file URL of this node, or a bad
// rate, is 502 and nothing of the app's body reaches the client.
func TestXAccelBadRedirect(t *testing.T) {
	for _, tc := range []struct{ name, target, rate string }{
		{"dot dot", "/group1/M00/00/00/../../../../etc/passwd", ""},
		{"escaped dot dot", "/group1/M00/00/%2e%2e/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", ""},
		{"bad escape", "/group1/M00/00/00/%zz", ""},
		{"relative", "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", ""},
		{"short name", "/group1/M00/00/00/short.bin", ""},
		{"not a store path", "/group1/X00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", ""},
		{"lower-case dir", "/group1/M00/0a/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", ""},
		{"bad name char", "/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.b!n", ""},
		{"bad rate", "/" + idBin, "fast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := startApp(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Accel-Redirect", tc.target)
				if tc.rate != "" {
					w.Header().Set("X-Accel-Limit-Rate", tc.rate)
				}
				io.WriteString(w, "APP BODY")
			})
			srv, _ := startServer(t, xaccelConfig(t, up.URL))
			resp, body := fetch(t, "GET", srv.URL+"/dl/x", nil)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "X-Accel") || strings.Contains(string(body), "APP BODY") {
				t.Fatalf("status %d body %q, want 502 naming the header", resp.StatusCode, body)
			}
		})
	}
}

// TestXAccelConfig: the prefix must be a path that hides no file URL, and the upstream a URL.
func TestXAccelConfig(t *testing.T) {
	for _, tc := range []struct {
		prefix, upstream string
		noGroup, ok      bool
	}{
		{"/dl/", "http://127.0.0.1:9", false, true},
		{"/group1x/", "http://127.0.0.1:9", false, true},
		{"/group1/app/", "http://127.0.0.1:9/base", false, true},
		{"/Media/", "http://127.0.0.1:9", true, true},
		{"/", "http://127.0.0.1:9", false, false},
		{"/gr", "http://127.0.0.1:9", false, false},
		{"/group1/", "http://127.0.0.1:9", false, false},
		{"/group1/M0", "http://127.0.0.1:9", false, false},
		{"/group1/M00/00/", "http://127.0.0.1:9", false, false},
		{"/M00/", "http://127.0.0.1:9", true, false},
		{"dl/", "http://127.0.0.1:9", false, false},
		{"/dl/../", "http://127.0.0.1:9", false, false},
		{"/dl/", "", false, false},
		{"/dl/", "ftp://127.0.0.1:9", false, false},
		{"", "http://127.0.0.1:9", false, false},
	} {
		cfg, _ := fixtureConfig(t)
		cfg.URLHaveGroupName = !tc.noGroup
		cfg.XAccel = XAccelConfig{Prefix: tc.prefix, Upstream: tc.upstream}
		h, err := New(cfg)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("prefix %q upstream %q group-less %v: %v, want ok %v", tc.prefix, tc.upstream, tc.noGroup, err, tc.ok)
		}
		if h != nil {
			h.Close()
		}
	}
}
