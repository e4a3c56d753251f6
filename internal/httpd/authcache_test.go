package httpd

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAuthRequestCache: with a ttl, the same Cookie, Authorization and URI are asked about once
// until the answer expires; any of the three differing asks again. Without a ttl every request
// asks.
func TestAuthRequestCache(t *testing.T) {
	var status atomic.Int64
	status.Store(http.StatusOK)
	app := startAuthApp(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) })
	cfg, _ := fixtureConfig(t)
	var clock atomic.Int64 // seconds added to the fixture clock
	cfg.Now = func() time.Time { return fixtureNow().Add(time.Duration(clock.Load()) * time.Second) }
	cfg.AuthRequest = AuthRequestConfig{URL: app.URL, CacheTTL: time.Minute}
	srv, _ := startServer(t, cfg)
	alice := map[string]string{"Cookie": "s=alice", "Authorization": "Bearer a"}
	get := func(path string, hdr map[string]string, wantAsks int64) {
		t.Helper()
		if resp, _ := fetch(t, "GET", srv.URL+path, hdr); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		if n := app.asks.Load(); n != wantAsks {
			t.Fatalf("GET %s %v: %d asks, want %d", path, hdr, n, wantAsks)
		}
	}
	for range 5 {
		get("/"+idBin, alice, 1)
	}
	get("/"+idBin, map[string]string{"Cookie": "s=bob", "Authorization": "Bearer a"}, 2)
	get("/"+idBin, map[string]string{"Cookie": "s=alice", "Authorization": "Bearer b"}, 3)
	get("/"+idTxt, alice, 4)
	get("/"+idBin+"?x=1", alice, 5)
	get("/"+idBin, nil, 6)
	get("/"+idBin, nil, 6)
	clock.Add(61)
	get("/"+idBin, alice, 7)
	get("/"+idBin, alice, 7)

	// A refusal is kept too.
	status.Store(http.StatusForbidden)
	mallory := map[string]string{"Cookie": "s=mallory"}
	for range 3 {
		if resp, _ := fetch(t, "GET", srv.URL+"/"+idBin, mallory); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	}
	if n := app.asks.Load(); n != 8 {
		t.Fatalf("%d asks after three refused requests, want 8", n)
	}

	t.Run("no ttl", func(t *testing.T) {
		app := startAuthApp(t, func(http.ResponseWriter, *http.Request) {})
		srv, _ := authServer(t, app.URL, 0)
		for range 3 {
			fetch(t, "GET", srv.URL+"/"+idBin, alice)
		}
		if n := app.asks.Load(); n != 3 {
			t.Fatalf("%d asks for 3 requests without a cache ttl, want 3", n)
		}
	})
}

// TestAuthRequestShared: concurrent identical misses wait for one ask.
func TestAuthRequestShared(t *testing.T) {
	release := make(chan struct{})
	app := startAuthApp(t, func(http.ResponseWriter, *http.Request) { <-release })
	cfg, _ := fixtureConfig(t)
	cfg.AuthRequest = AuthRequestConfig{URL: app.URL, CacheTTL: time.Minute}
	srv, h := startServer(t, cfg)
	const n = 8
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			resp, err := http.Get(srv.URL + "/" + idBin)
			if err != nil {
				t.Error(err)
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.auth.cache.joined.Load() < n-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a counter, not waiting for an event
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("status %d", c)
		}
	}
	if asks := app.asks.Load(); asks != 1 {
		t.Fatalf("%d asks for %d concurrent identical requests, want 1", asks, n)
	}
}

// TestAuthCacheBound: the cache keeps at most its capacity; expired answers go first and are
// not counted, live ones pushed out are.
func TestAuthCacheBound(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newAuthCache(time.Minute, 3, func() time.Time { return now })
	allow := func() authAnswer { return authAnswer{status: http.StatusOK} }
	key := func(i byte) authKey { return authKey{i} }
	for i := range byte(5) {
		c.do(key(i), allow)
	}
	if len(c.entries) != 3 || c.evicted.Load() != 2 {
		t.Fatalf("%d entries, %d evicted; want 3, 2", len(c.entries), c.evicted.Load())
	}
	if _, ok := c.entries[key(0)]; ok {
		t.Fatal("the oldest answer survived")
	}
	now = now.Add(2 * time.Minute)
	for i := byte(10); i < 13; i++ {
		c.do(key(i), allow)
	}
	if len(c.entries) != 3 || c.evicted.Load() != 2 || len(c.order)-c.head != 3 {
		t.Fatalf("%d entries, %d in order, %d evicted; want 3, 3, 2", len(c.entries), len(c.order)-c.head, c.evicted.Load())
	}
	for i := range 1000 { // a flood of distinct credentials
		c.do(authKey{1, byte(i), byte(i >> 8)}, allow)
	}
	if len(c.entries) != 3 || len(c.order) > 6 {
		t.Fatalf("after a flood: %d entries, order length %d", len(c.entries), len(c.order))
	}
	if got := c.do(authKey{1, 0xe7, 3}, func() authAnswer { t.Fatal("asked for a kept answer"); return authFailed }); got.status != http.StatusOK {
		t.Fatalf("kept answer: %+v", got)
	}
}

// TestAuthCacheEvictionsCounted shows the counter through the Handler.
func TestAuthCacheEvictionsCounted(t *testing.T) {
	app := startAuthApp(t, func(http.ResponseWriter, *http.Request) {})
	cfg, _ := fixtureConfig(t)
	cfg.AuthRequest = AuthRequestConfig{URL: app.URL, CacheTTL: time.Minute, CacheMax: 2}
	srv, h := startServer(t, cfg)
	for _, c := range []string{"a", "b", "c", "d"} {
		fetch(t, "GET", srv.URL+"/"+idBin, map[string]string{"Cookie": c})
	}
	if n := h.AuthCacheEvictions(); n != 2 {
		t.Fatalf("%d evictions, want 2", n)
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"524288", 524288, true},
		{"512K", 512 << 10, true},
		{"512k", 512 << 10, true},
		{"2M", 2 << 20, true},
		{"0", -1, true},
		{"", 0, false},
		{"K", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1.5M", 0, false},
		{"5G", 0, false},
		{"99999999999999999999", 0, false},
		{"2000000M", 0, false},
	} {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
