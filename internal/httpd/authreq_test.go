package httpd

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// authApp is an auth service on loopback that counts its asks and keeps the last one's headers.
type authApp struct {
	*httptest.Server
	asks atomic.Int64
	mu   sync.Mutex
	last http.Header
}

// startAuthApp serves answer as the auth service until the test ends.
func startAuthApp(t *testing.T, answer http.HandlerFunc) *authApp {
	t.Helper()
	a := &authApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.asks.Add(1)
		a.mu.Lock()
		a.last = r.Header.Clone()
		a.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *authApp) lastHeader() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// authServer starts the download module on the fixture store, asking app (cache ttl as given).
func authServer(t *testing.T, app string, ttl time.Duration) (*testServer, *Handler) {
	t.Helper()
	cfg, _ := fixtureConfig(t)
	cfg.AuthRequest = AuthRequestConfig{URL: app + "/auth", Timeout: 300 * time.Millisecond, CacheTTL: ttl}
	return startServer(t, cfg)
}

// TestAuthRequestRefuses: a 401 or 403 goes to the client with a short body and none of the
// file's bytes or validators.
func TestAuthRequestRefuses(t *testing.T) {
	bin := fixtureBytes(t, idBin)
	for _, tc := range []struct {
		status    int
		challenge string
		msg       string
	}{
		{http.StatusForbidden, "", "access denied by the auth service\n"},
		{http.StatusUnauthorized, `Basic realm="depot"`, "authentication required by the auth service\n"},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			app := startAuthApp(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.challenge != "" {
					w.Header().Set("WWW-Authenticate", tc.challenge)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte("the auth service's own body"))
			})
			srv, _ := authServer(t, app.URL, 0)
			resp, body := fetch(t, "GET", srv.URL+"/"+idBin, nil)
			if resp.StatusCode != tc.status || string(body) != tc.msg {
				t.Fatalf("status %d body %q, want %d %q", resp.StatusCode, body, tc.status, tc.msg)
			}
			if bytes.Contains(body, bin[:64]) {
				t.Fatal("the refusal carries file bytes")
			}
			wantHeader(t, resp, "Content-Length", strconv.Itoa(len(tc.msg)))
			wantHeader(t, resp, "WWW-Authenticate", tc.challenge)
			wantHeader(t, resp, "Cache-Control", "no-store")
			for _, k := range []string{"Etag", "Last-Modified", "Accept-Ranges", "Content-Range"} {
				wantHeader(t, resp, k, "")
			}
			resp, body = fetch(t, "HEAD", srv.URL+"/"+idBin, nil)
			if resp.StatusCode != tc.status || len(body) != 0 {
				t.Fatalf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
			}
		})
	}
}

// TestAuthRequestAllows: a 2xx serves the file with what the answer granted, and the ask
// carries the original request's URI, method, address and credentials.
func TestAuthRequestAllows(t *testing.T) {
	app := startAuthApp(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Depot-Filename", "report 2026.bin")
		w.Header().Set("X-Depot-User", "alice")
		w.Header().Set("X-Depot-Limit-Rate", "512K")
		w.WriteHeader(http.StatusNoContent)
	})
	srv, _ := authServer(t, app.URL, 0)
	hdr := map[string]string{"Cookie": "session=abc", "Authorization": "Bearer t0k", "X-Forwarded-For": "10.9.9.9"}
	resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?v=1", hdr)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, fixtureBytes(t, idBin)) {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	wantHeader(t, resp, "Content-Disposition", `attachment; filename="report 2026.bin"`)
	got := app.lastHeader()
	for k, want := range map[string]string{
		"X-Original-URI":    "/" + idBin + "?v=1",
		"X-Original-Method": "GET",
		"X-Real-IP":         "127.0.0.1",
		"X-Forwarded-For":   "10.9.9.9, 127.0.0.1",
		"Cookie":            "session=abc",
		"Authorization":     "Bearer t0k",
	} {
		if got.Get(k) != want {
			t.Errorf("auth request %s: %q, want %q", k, got.Get(k), want)
		}
	}
	resp, body = fetch(t, "GET", srv.URL+"/"+idBin, map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, fixtureBytes(t, idBin)[10:20]) {
		t.Fatalf("range: status %d body %x", resp.StatusCode, body)
	}
}

// TestAuthRequestAfterToken: a request the token check refuses never reaches the auth service.
func TestAuthRequestAfterToken(t *testing.T) {
	app := startAuthApp(t, func(w http.ResponseWriter, r *http.Request) {})
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: "FastDFS1234567890", TTL: time.Hour}
	cfg.AuthRequest = AuthRequestConfig{URL: app.URL}
	srv, _ := startServer(t, cfg)
	if resp, _ := fetch(t, "GET", srv.URL+"/"+idBin, nil); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unsigned: status %d, want 400", resp.StatusCode)
	}
	if n := app.asks.Load(); n != 0 {
		t.Fatalf("the auth service was asked %d times for an unsigned URL", n)
	}
}

// TestAuthRequestFailsClosed: anything but 2xx/401/403, an unreachable or slow service, and an
// unusable grant are 503, within the timeout.
func TestAuthRequestFailsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	allow := startAuthApp(t, func(http.ResponseWriter, *http.Request) {})
	for _, tc := range []struct {
		name   string
		answer http.HandlerFunc // nil: the service is down
	}{
		{"down", nil},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, allow.URL, http.StatusFound)
		}},
		{"bad rate", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Depot-Limit-Rate", "fast") }},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := down
			if tc.answer != nil {
				url = startAuthApp(t, tc.answer).URL
			}
			srv, _ := authServer(t, url, time.Minute)
			for range 2 { // a failure is not cached
				start := time.Now()
				resp, body := fetch(t, "GET", srv.URL+"/"+idBin, nil)
				took := time.Since(start)
				t.Logf("503 after %v", took)
				if took > 300*time.Millisecond+time.Second {
					t.Errorf("503 took %v with a 300ms timeout", took)
				}
				if resp.StatusCode != http.StatusServiceUnavailable || bytes.Contains(body, fixtureBytes(t, idBin)[:64]) {
					t.Fatalf("status %d body %q, want 503", resp.StatusCode, body)
				}
			}
		})
	}
	if n := allow.asks.Load(); n != 0 {
		t.Errorf("the redirect to an allowing service was followed %d times", n)
	}
}
