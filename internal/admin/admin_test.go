package admin

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls the gRPC health Check until it answers want.
func waitStatus(t *testing.T, c healthpb.HealthClient, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC health: %v, %v; want %v", resp.GetStatus(), err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// start serves an admin Server for ready on loopback, with its gRPC health service on a
// gRPC server of its own, and returns the admin base URL and a health client.
func start(t *testing.T, cfg Config) (*Server, string, healthpb.HealthClient) {
	t.Helper()
	s := New(cfg)
	gs := grpc.NewServer()
	s.Register(gs)
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(gln)
	t.Cleanup(gs.Stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Start(ln)
	t.Cleanup(func() { s.Close() })
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, "http://" + s.Addr(), healthpb.NewHealthClient(conn)
}

// TestEndpoints: /healthz is 200 whatever the readiness; /readyz and the gRPC health status
// follow the check both ways; /metrics is the handler given; Close ends in NOT_SERVING.
func TestEndpoints(t *testing.T) {
	var broken atomic.Bool
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "fake_total 1\n") })
	s, url, hc := start(t, Config{
		Metrics: metrics, Poll: 20 * time.Millisecond,
		Ready: func() error {
			if broken.Load() {
				return errors.New("store_path0 /x takes no writes")
			}
			return nil
		},
	})
	if code, body := get(t, url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, url+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, body := get(t, url+"/metrics"); code != 200 || body != "fake_total 1\n" {
		t.Errorf("/metrics: %d %q", code, body)
	}
	if code, _ := get(t, url+"/nothing"); code != 404 {
		t.Errorf("/nothing: %d", code)
	}
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)

	broken.Store(true)
	waitStatus(t, hc, healthpb.HealthCheckResponse_NOT_SERVING) // by the poll alone
	if code, body := get(t, url+"/readyz"); code != 503 || body != "not ready: store_path0 /x takes no writes\n" {
		t.Errorf("/readyz broken: %d %q", code, body)
	}
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Errorf("/healthz while not ready: %d", code)
	}
	broken.Store(false)
	if code, _ := get(t, url+"/readyz"); code != 200 {
		t.Errorf("/readyz mended: %d", code)
	}
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)

	s.Close()
	waitStatus(t, hc, healthpb.HealthCheckResponse_NOT_SERVING)
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the admin listener still answers after Close")
	}
}

// TestHungCheck: a check that does not return in time reads as not ready, and callers that
// come meanwhile do not start another.
func TestHungCheck(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	hung := atomic.Bool{}
	_, url, hc := start(t, Config{
		Poll: 10 * time.Millisecond, Timeout: 50 * time.Millisecond,
		Ready: func() error {
			calls.Add(1)
			if hung.Load() {
				<-release
			}
			return nil
		},
	})
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)
	hung.Store(true)
	waitStatus(t, hc, healthpb.HealthCheckResponse_NOT_SERVING)
	before := calls.Load()
	code, body := get(t, url+"/readyz")
	if code != 503 || !strings.Contains(body, "did not answer within 50ms") {
		t.Errorf("/readyz with a hung check: %d %q", code, body)
	}
	if n := calls.Load(); n != before {
		t.Errorf("%d checks started beside the hung one", n-before)
	}
	hung.Store(false)
	close(release)
	waitStatus(t, hc, healthpb.HealthCheckResponse_SERVING)
}

// TestNoListener: without an admin listener the gRPC health status still follows readiness.
func TestNoListener(t *testing.T) {
	s := New(Config{Ready: func() error { return errors.New("no tracker joined") }})
	s.Start(nil)
	defer s.Close()
	if s.Addr() != "" {
		t.Errorf("Addr = %q without a listener", s.Addr())
	}
	if err := s.Check(); err == nil || err.Error() != "no tracker joined" {
		t.Errorf("Check = %v", err)
	}
}

// TestPage: Config.Page gets every path the endpoints do not take; they keep theirs.
func TestPage(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	_, url, _ := start(t, Config{Page: page})
	for path, want := range map[string]string{"/": "page /", "/cluster/state.json": "page /cluster/state.json", "/healthz": "ok\n", "/readyz": "ready\n"} {
		if code, body := get(t, url+path); code != 200 || body != want {
			t.Errorf("%s: %d %q, want %q", path, code, body, want)
		}
	}
}
