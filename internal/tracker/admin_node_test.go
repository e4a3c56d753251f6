package tracker_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/metrics"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/tracker"
)

// startTracker starts a tracker node on 127.0.0.1 with kernel-chosen ports, the admin
// endpoints on, and storages OFFLINE after a second without a heartbeat.
func startTracker(t *testing.T, single bool, tweak func(*conf.Tracker)) *tracker.Node {
	t.Helper()
	tc := conf.DefaultTracker()
	tc.BindAddr, tc.Port, tc.BasePath = "127.0.0.1", 0, t.TempDir()
	tc.CheckActiveInterval = time.Second
	tc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	if tweak != nil {
		tweak(&tc)
	}
	n, err := tracker.StartNode(tracker.NodeConfig{Tracker: tc, Single: single, AdminAnyPort: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if n.AdminAddr() == "" {
		t.Fatal("no admin listener with AdminAnyPort")
	}
	return n
}

// startStorage starts a storage node of group1 reporting to trackerAddr every 100 ms.
func startStorage(t *testing.T, trackerAddr string) *storage.Server {
	t.Helper()
	dir := t.TempDir()
	sc := conf.DefaultStorage()
	sc.GroupName, sc.BindAddr, sc.Port, sc.HTTP.ServerPort = "group1", "127.0.0.1", 0, 0
	sc.BasePath, sc.StorePaths, sc.SubdirCountPerPath = dir, []conf.StorePath{{Path: dir}}, 2
	sc.TrackerServers, sc.HeartBeatInterval = []string{trackerAddr}, 100*time.Millisecond
	sc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	node, err := storage.New(storage.Config{Storage: sc})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		node.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func scrape(t *testing.T, n *tracker.Node) metrics.Samples {
	t.Helper()
	code, body := get(t, "http://"+n.AdminAddr()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %q", code, body)
	}
	ss, err := metrics.ParseText(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// waitFor polls cond every 20 ms for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthStatus(t *testing.T, addr string) func() healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := healthpb.NewHealthClient(conn)
	return func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := c.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return resp.GetStatus()
	}
}

// TestNodeMetricsStorageStates: the tracker's /metrics shows a storage ACTIVE once it
// heartbeats and OFFLINE once it stopped; a lone tracker is its own leader, known, ready and
// SERVING.
func TestNodeMetricsStorageStates(t *testing.T) {
	n := startTracker(t, true, nil)
	st := startStorage(t, n.Addr())
	var key string
	waitFor(t, "the storage to join", func() bool { key = st.TrackerKeys()[n.Addr()]; return key != "" })
	state := func(ss metrics.Samples, s string) float64 {
		v, _ := ss.Value("depot_tracker_storage_state", "group", "group1", "storage", key, "state", s)
		return v
	}
	var ss metrics.Samples
	waitFor(t, "ACTIVE in the tracker's metrics", func() bool { ss = scrape(t, n); return state(ss, "ACTIVE") == 1 })
	if got := ss.Sum("depot_tracker_storage_state", "storage", key); got != 1 {
		t.Errorf("the storage is in %v states at once:\n%s", got, ss)
	}
	if v, _ := ss.Value("depot_tracker_storage_last_heartbeat_timestamp_seconds", "storage", key); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last heartbeat %v", v)
	}
	for name, want := range map[string]float64{"depot_tracker_leader": 1, "depot_tracker_leader_known": 1, "depot_tracker_known_trackers": 1} {
		if v, ok := ss.Value(name); !ok || v != want {
			t.Errorf("%s = %v, %v; want %v", name, v, ok, want)
		}
	}
	if v, ok := ss.Value("depot_tracker_peer_alive", "tracker", n.Addr()); !ok || v != 1 {
		t.Errorf("depot_tracker_peer_alive{tracker=%s} = %v, %v", n.Addr(), v, ok)
	}
	if code, body := get(t, "http://"+n.AdminAddr()+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
	health := healthStatus(t, n.Addr())
	waitFor(t, "gRPC health SERVING", func() bool { return health() == healthpb.HealthCheckResponse_SERVING })

	st.Close()
	waitFor(t, "OFFLINE in the tracker's metrics", func() bool { ss = scrape(t, n); return state(ss, "OFFLINE") == 1 })
	if state(ss, "ACTIVE") != 0 || ss.Sum("depot_tracker_storage_state", "storage", key) != 1 {
		t.Errorf("after OFFLINE:\n%s", ss)
	}
}

// TestNodeNotReadyWithoutLeader: a tracker of a cluster that waits for a second tracker has
// no leader: /readyz is 503 with the reason and the gRPC health NOT_SERVING, /healthz 200.
func TestNodeNotReadyWithoutLeader(t *testing.T) {
	n := startTracker(t, false, func(tc *conf.Tracker) { tc.ClusterExpect = 2 })
	code, body := get(t, "http://"+n.AdminAddr()+"/readyz")
	if code != 503 || !strings.HasPrefix(body, "not ready: no tracker leader known") {
		t.Errorf("/readyz without a leader: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+n.AdminAddr()+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	health := healthStatus(t, n.Addr())
	if s := health(); s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("gRPC health without a leader: %v", s)
	}
	ss := scrape(t, n)
	if v, ok := ss.Value("depot_tracker_leader_known"); !ok || v != 0 {
		t.Errorf("depot_tracker_leader_known = %v, %v", v, ok)
	}
	if v, ok := ss.Value("depot_tracker_leader"); !ok || v != 0 {
		t.Errorf("depot_tracker_leader = %v, %v", v, ok)
	}
}

// TestNodeAdminOff: without http.admin_port no admin listener, and the gRPC health service
// still answers.
func TestNodeAdminOff(t *testing.T) {
	tc := conf.DefaultTracker()
	tc.BindAddr, tc.Port, tc.BasePath = "127.0.0.1", 0, t.TempDir()
	n, err := tracker.StartNode(tracker.NodeConfig{Tracker: tc, Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if a := n.AdminAddr(); a != "" {
		t.Errorf("admin listener %s with http.admin_port unset", a)
	}
	health := healthStatus(t, n.Addr())
	waitFor(t, "gRPC health SERVING", func() bool { return health() == healthpb.HealthCheckResponse_SERVING })
}
