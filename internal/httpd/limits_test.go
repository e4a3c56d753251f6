package httpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/token"
)

// storeBig stores a random file of size bytes and returns its ID (with group).
func storeBig(t *testing.T, st *disk.Store, size int) (string, []byte) {
	t.Helper()
	body := make([]byte, size)
	rand.Read(body)
	id, err := st.Upload(context.Background(), bytes.NewReader(body), disk.UploadOptions{Ext: "bin", PathIndex: -1, Size: int64(size)})
	if err != nil {
		t.Fatal(err)
	}
	return id.WithGroup("group1").String(), body
}

// downloader fetches one URL over conns connections from local address from, again and
// again, counting the body bytes received, until ctx ends.
func downloader(ctx context.Context, t *testing.T, addr, from, path string, conns int, got *atomic.Int64, wg *sync.WaitGroup) {
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("dial from %s: %v", from, err)
					}
					return
				}
				stop := context.AfterFunc(ctx, func() { c.Close() })
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n", path)
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					got.Add(int64(n))
					if err != nil {
						break
					}
				}
				stop()
				c.Close()
			}
		}()
	}
}

// rateOver measures the bytes/s of each counter between 1 s after start (past the bursts)
// and 4 s.
//
// A limit is an upper bound, checked to 10%. The lower bound is loose (rateFloor): on a
// loaded machine (other processes on the cores, the race detector) the downloaders cannot
// always reach the limit, and the tests failed there while the limiter was right; half the
// limit still tells a limiter that divides the rate among connections from one that does
// not.
const rateFloor = 0.5

func rateOver(counters ...*atomic.Int64) []float64 {
	time.Sleep(time.Second)
	start := make([]int64, len(counters))
	for i, c := range counters {
		start[i] = c.Load()
	}
	const span = 3 * time.Second
	time.Sleep(span)
	out := make([]float64, len(counters))
	for i, c := range counters {
		out[i] = float64(c.Load()-start[i]) / span.Seconds()
	}
	return out
}

// TestUserLimitRateAcrossConnections: two users, each on 4 connections, with
// user_limit_rate 1 MiB/s get 1 MiB/s each in total (see rateOver), whatever their connection count;
// a third user whom the auth service exempts (X-Depot-Limit-Rate: 0) is not slowed meanwhile.
func TestUserLimitRateAcrossConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("timed rates")
	}
	const limit = 1 << 20
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	id, _ := storeBig(t, st, 16<<20)
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Real-IP") == "127.0.0.4" {
			w.Header().Set("X-Depot-Limit-Rate", "0")
		}
	}))
	t.Cleanup(auth.Close)
	srv, _ := startServer(t, Config{
		Groups: []Group{{Name: "group1", Store: st, StorePathCount: 1}}, URLHaveGroupName: true,
		IsSelf: isLoopback1, UserLimitRate: limit, AuthRequest: AuthRequestConfig{URL: auth.URL},
	})
	addr := srv.URL[len("http://"):]
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var a, b, free atomic.Int64
	downloader(ctx, t, addr, "127.0.0.2", "/"+id, 4, &a, &wg)
	downloader(ctx, t, addr, "127.0.0.3", "/"+id, 4, &b, &wg)
	downloader(ctx, t, addr, "127.0.0.4", "/"+id, 1, &free, &wg)
	rates := rateOver(&a, &b, &free)
	cancel()
	wg.Wait()
	for i, r := range rates[:2] {
		t.Logf("user %d: %.0f bytes/s over 4 connections (limit %d)", i+2, r, limit)
		if r < rateFloor*limit || r > 1.1*limit {
			t.Errorf("user 127.0.0.%d got %.0f bytes/s, want %d (at most 10%% above, at least %.0f%%)", i+2, r, limit, rateFloor*100)
		}
	}
	t.Logf("exempt user: %.0f bytes/s on 1 connection", rates[2])
	if rates[2] < 20*limit {
		t.Errorf("the exempt user got %.0f bytes/s: slowed (want far above the %d limit)", rates[2], limit)
	}
}

// TestLimitRatePerResponse: limit_rate applies per response after limit_rate_after bytes,
// which go at full speed.
func TestLimitRatePerResponse(t *testing.T) {
	if testing.Short() {
		t.Skip("timed rates")
	}
	const limit, after = 256 << 10, 2 << 20
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	id, body := storeBig(t, st, 3<<20)
	srv, _ := startServer(t, Config{
		Groups: []Group{{Name: "group1", Store: st, StorePathCount: 1}}, URLHaveGroupName: true,
		IsSelf: isLoopback1, LimitRate: limit, LimitRateAfter: after,
	})
	c, err := net.Dial("tcp", srv.URL[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n", id)
	start := time.Now()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !bytes.HasSuffix(got, body) {
		t.Fatalf("body differs (%d bytes)", len(got))
	}
	// 2 MiB free, then 1 MiB at 256 KiB/s: about 4 s (the first chunk goes at once); at
	// least 3.5 s (the limit holds), and well under the 12 s of 3 MiB all limited (the
	// first 2 MiB went free), with room for a loaded machine.
	if took < 3500*time.Millisecond || took > 9*time.Second {
		t.Errorf("3 MiB with 2 MiB free then 256 KiB/s took %v, want about 4 s", took)
	}
}

// TestSignedUsersBehindNAT: two users behind one address (NAT), told apart by their signed
// URLs, each get the rate their URL carries across 3 connections each.
func TestSignedUsersBehindNAT(t *testing.T) {
	if testing.Short() {
		t.Skip("timed rates")
	}
	const secret = "FastDFS1234567890"
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	id, _ := storeBig(t, st, 16<<20)
	srv, _ := startServer(t, Config{
		Groups: []Group{{Name: "group1", Store: st, StorePathCount: 1}}, URLHaveGroupName: true,
		IsSelf: isLoopback1, Token: TokenConfig{Check: true, Secret: secret, TTL: time.Hour},
	})
	addr := srv.URL[len("http://"):]
	rates := map[string]int64{"alice": 1 << 20, "bob": 512 << 10}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var alice, bob atomic.Int64
	for user, got := range map[string]*atomic.Int64{"alice": &alice, "bob": &bob} {
		q, err := token.SignQuery(secret, "/"+id, token.Claims{Expires: time.Now().Add(time.Hour).Unix(), User: user, Rate: rates[user]})
		if err != nil {
			t.Fatal(err)
		}
		downloader(ctx, t, addr, "127.0.0.5", "/"+id+"?"+q, 3, got, &wg)
	}
	measured := rateOver(&alice, &bob)
	cancel()
	wg.Wait()
	for i, user := range []string{"alice", "bob"} {
		want := float64(rates[user])
		t.Logf("%s: %.0f bytes/s over 3 connections (signed rate %.0f)", user, measured[i], want)
		if measured[i] < rateFloor*want || measured[i] > 1.1*want {
			t.Errorf("%s got %.0f bytes/s, want %.0f (at most 10%% above, at least %.0f%%)", user, measured[i], want, rateFloor*100)
		}
	}
}

// TestUserLimitsBounded: a flood of distinct users keeps at most maxUsers buckets, evicting a
// tenth at a time rather than scanning for one per new user.
func TestUserLimitsBounded(t *testing.T) {
	var u userLimits
	now := time.Now()
	for i := range maxUsers + maxUsers/5 {
		u.get(fmt.Sprintf("user-%d", i), 1<<20, now)
	}
	if n := len(u.users); n > maxUsers {
		t.Fatalf("%d buckets held, want at most %d", n, maxUsers)
	}
	if u.evicted < maxUsers/10 {
		t.Errorf("evicted %d, want at least a tenth of %d", u.evicted, maxUsers)
	}
	// Idle buckets go first.
	u.get("fresh", 1<<20, now.Add(2*userIdle))
	u.sweep(now.Add(2 * userIdle))
	if _, ok := u.users["fresh"]; !ok || len(u.users) != 1 {
		t.Errorf("after a sweep past the idle time: %d buckets, fresh kept %v", len(u.users), ok)
	}
}
