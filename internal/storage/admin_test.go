package storage_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/metrics"
	"github.com/depotfs/depot/internal/storage"
)

// startAdminNode starts a standalone node in dir with the anti-steal check on (secret s3cret)
// and its admin endpoints on a kernel-chosen port, plus extra storage.conf lines.
func startAdminNode(t *testing.T, dir, extra string) *storage.Server {
	t.Helper()
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nreserved_storage_space = 1%%\nhttp.mod_fastdfs_conf = mod_fastdfs.conf\n%[2]s", dir, extra)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n" +
		"http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = s3cret\n"
	node := launchWith(t, dir, storageConf, modConf, storage.Config{AdminAnyPort: true})
	if node.AdminAddr() == "" {
		t.Fatal("no admin listener with Config.AdminAnyPort")
	}
	return node
}

// scrape fetches and parses the node's /metrics.
func scrape(t *testing.T, adminAddr string) metrics.Samples {
	t.Helper()
	code, _, body := httpGet(t, http.MethodGet, "http://"+adminAddr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %q", code, body)
	}
	ss, err := metrics.ParseText(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// value is the sample's value, failing the test when there is not exactly one.
func value(t *testing.T, ss metrics.Samples, name string, labels ...string) float64 {
	t.Helper()
	v, ok := ss.Value(name, labels...)
	if !ok {
		t.Fatalf("no single sample %s%q in\n%s", name, labels, ss)
	}
	return v
}

// TestAdminMetrics scrapes /metrics around real uploads and downloads (200, 206, 404, a bad
// token) and checks each counter moved by what they did: responses by code, body bytes, a
// 4 KiB body copied behind the header and a 1 MiB one sent with sendfile, token failures,
// uploads and their bytes; disk space is there per store path.
func TestAdminMetrics(t *testing.T) {
	dir := t.TempDir()
	node := startAdminNode(t, dir, "")
	admin := node.AdminAddr()
	c := dial(t, node)
	ctx := t.Context()

	before := scrape(t, admin)
	small, big := make([]byte, 4<<10), make([]byte, 1<<20)
	rand.Read(small)
	rand.Read(big)
	idSmall, err := c.Upload(ctx, bytes.NewReader(small), client.UploadOptions{Ext: "bin", Size: int64(len(small))})
	if err != nil {
		t.Fatal(err)
	}
	idBig, err := c.Upload(ctx, bytes.NewReader(big), client.UploadOptions{Ext: "bin", Size: int64(len(big))})
	if err != nil {
		t.Fatal(err)
	}
	seven := 7
	if _, err := c.Upload(ctx, strings.NewReader("x"), client.UploadOptions{Size: 1, StorePath: &seven}); err == nil {
		t.Fatal("upload to store path 7 of 1 succeeded")
	}
	gone, err := c.Upload(ctx, strings.NewReader("soon deleted"), client.UploadOptions{Ext: "txt", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	after := scrape(t, admin)
	delta := func(ss metrics.Samples, name string, labels ...string) float64 {
		t.Helper()
		return value(t, ss, name, labels...) - value(t, before, name, labels...)
	}
	if d := delta(after, "depot_storage_uploads_total", "result", "ok"); d != 3 {
		t.Errorf("uploads ok moved by %v, want 3", d)
	}
	if d := delta(after, "depot_storage_uploads_total", "result", "error"); d != 1 {
		t.Errorf("uploads error moved by %v, want 1", d)
	}
	if d := delta(after, "depot_storage_upload_bytes_total"); d != float64(len(small)+len(big)+len("soon deleted")) {
		t.Errorf("upload bytes moved by %v", d)
	}

	base := "http://" + node.HTTPAddr()
	now := time.Now().Unix()
	steps := []struct {
		name, url, rng string
		code           int
		copied, sent   float64 // file bodies copied behind the header / sent with sendfile
	}{
		{"4 KiB", client.SignedURL("s3cret", base, idSmall, now), "", 200, 1, 0},
		{"1 MiB", client.SignedURL("s3cret", base, idBig, now), "", 200, 0, 1},
		{"100 bytes of 1 MiB", client.SignedURL("s3cret", base, idBig, now), "bytes=0-99", 206, 1, 0},
		{"deleted", client.SignedURL("s3cret", base, gone, now), "", 404, 0, 0},
		{"bad token", client.SignedURL("wrong", base, idSmall, now), "", 400, 0, 0},
	}
	codes := map[int]float64{}
	var bodyBytes float64
	prev := after
	for _, s := range steps {
		req, _ := http.NewRequest(http.MethodGet, s.url, nil)
		if s.rng != "" {
			req.Header.Set("Range", s.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != s.code {
			t.Fatalf("%s: %d %v, want %d", s.name, resp.StatusCode, err, s.code)
		}
		codes[s.code]++
		bodyBytes += float64(len(body))
		now := scrape(t, admin)
		for mode, want := range map[string]float64{"copy": s.copied, "sendfile": s.sent} {
			if d := value(t, now, "depot_storage_http_file_bodies_total", "mode", mode) -
				value(t, prev, "depot_storage_http_file_bodies_total", "mode", mode); d != want {
				t.Errorf("%s: file bodies %s moved by %v, want %v", s.name, mode, d, want)
			}
		}
		prev = now
	}
	last := prev
	for code, n := range codes {
		if got := last.Sum("depot_storage_http_responses_total", "code", strconv.Itoa(code)) -
			before.Sum("depot_storage_http_responses_total", "code", strconv.Itoa(code)); got != n {
			t.Errorf("responses %d moved by %v, want %v", code, got, n)
		}
	}
	if got, want := last.Sum("depot_storage_http_responses_total")-before.Sum("depot_storage_http_responses_total"), float64(len(steps)); got != want {
		t.Errorf("responses moved by %v in all, want %v", got, want)
	}
	if d := delta(last, "depot_storage_http_response_bytes_total"); d != bodyBytes || d < float64(len(small)+len(big)+100) {
		t.Errorf("response bytes moved by %v, want %v", d, bodyBytes)
	}
	if d := delta(last, "depot_storage_http_token_failures_total"); d != 1 {
		t.Errorf("token failures moved by %v, want 1", d)
	}
	for _, name := range []string{"depot_storage_http_redirects_total", "depot_storage_http_proxied_total", "depot_storage_http_send_timeouts_total"} {
		if d := delta(last, name); d != 0 {
			t.Errorf("%s moved by %v, want 0", name, d)
		}
	}
	if free := value(t, last, "depot_storage_disk_free_bytes", "store_path", "0", "dir", dir); free <= 0 {
		t.Errorf("disk free of store_path0 = %v", free)
	}
	if ro := value(t, last, "depot_storage_store_path_read_only", "store_path", "0"); ro != 0 {
		t.Errorf("store_path0 read-only = %v", ro)
	}
	if _, ok := last.Value("go_goroutines"); !ok {
		t.Error("no Go runtime metrics")
	}
}

// refuseWrites makes dir refuse new entries until undone or the test ends: mode 0555 for a
// user, the immutable attribute for root (whom modes do not stop). It skips the test where
// neither works.
func refuseWrites(t *testing.T, dir string) (undo func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		undo = func() { os.Chmod(dir, 0o755) }
	} else {
		if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
			t.Skipf("running as root and chattr +i %s failed (%v: %s): cannot make a directory refuse root's writes", dir, err, out)
		}
		undo = func() { exec.Command("chattr", "-i", dir).Run() }
	}
	t.Cleanup(undo)
	return undo
}

// healthClient dials the node's gRPC server for the standard health service.
func healthClient(t *testing.T, addr string) healthpb.HealthClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// waitReady polls /readyz and the gRPC health service until both say ready (or both say not
// ready, with a reason containing why) and returns the /readyz body.
func waitReady(t *testing.T, node *storage.Server, hc healthpb.HealthClient, ready bool, why string) string {
	t.Helper()
	wantCode, wantStatus := 200, healthpb.HealthCheckResponse_SERVING
	if !ready {
		wantCode, wantStatus = 503, healthpb.HealthCheckResponse_NOT_SERVING
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := httpGet(t, http.MethodGet, "http://"+node.AdminAddr()+"/readyz")
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if code == wantCode && strings.Contains(string(body), why) && err == nil && resp.GetStatus() == wantStatus {
			return string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %q, gRPC health %v %v; want %d containing %q and %v", code, body, resp.GetStatus(), err, wantCode, why, wantStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminReadyStorePath: /readyz is 200 and gRPC health SERVING while the store path takes
// writes, 503 naming the path and NOT_SERVING while it is read-only, and ready again once it
// takes writes; /healthz stays 200 throughout.
func TestAdminReadyStorePath(t *testing.T) {
	dir := t.TempDir()
	node := startAdminNode(t, dir, "")
	hc := healthClient(t, node.GRPCAddr())
	if body := waitReady(t, node, hc, true, "ready"); body != "ready\n" {
		t.Errorf("/readyz body %q", body)
	}
	undo := refuseWrites(t, filepath.Join(dir, "data", ".depot-tmp"))
	body := waitReady(t, node, hc, false, "store_path0 "+dir+" takes no writes")
	if !strings.HasPrefix(body, "not ready: ") {
		t.Errorf("/readyz body %q", body)
	}
	if code, _, body := httpGet(t, http.MethodGet, "http://"+node.AdminAddr()+"/healthz"); code != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz while not ready: %d %q", code, body)
	}
	undo()
	waitReady(t, node, hc, true, "ready")
}

// TestAdminReadyTracker: a node with a tracker_server is ready once joined, and not ready,
// with the tracker's failure as the reason, once the tracker is gone.
func TestAdminReadyTracker(t *testing.T) {
	ft := startFakeTracker(t, "127.0.0.1")
	dir := t.TempDir()
	node := startAdminNode(t, dir, "heart_beat_interval = 1\ntracker_server = "+ft.addr+"\n")
	hc := healthClient(t, node.GRPCAddr())
	waitReady(t, node, hc, true, "ready")
	ft.srv.Stop()
	body := waitReady(t, node, hc, false, "joined to none of its trackers")
	if !strings.Contains(body, ft.addr+": ") {
		t.Errorf("/readyz body %q does not name the tracker", body)
	}
	if v := value(t, scrape(t, node.AdminAddr()), "depot_storage_tracker_joined", "tracker", ft.addr); v != 0 {
		t.Errorf("depot_storage_tracker_joined = %v after the tracker stopped", v)
	}
}

// TestAdminPort: without http.admin_port nothing listens for the admin endpoints, while the
// gRPC health service is there; with it, they are on bind_addr at that port.
func TestAdminPort(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, dir, "")
	if a := node.AdminAddr(); a != "" {
		t.Errorf("admin listener %s with http.admin_port unset", a)
	}
	hc := healthClient(t, node.GRPCAddr())
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gRPC health of a standalone node: %v %v", resp.GetStatus(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir2 := t.TempDir()
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nreserved_storage_space = 1%%\nhttp.admin_port = %[2]d\n", dir2, port)
	node2 := launchWith(t, dir2, storageConf, "base_path = "+dir2+"\ngroup_name = group1\nstore_path0 = "+dir2+"\n", storage.Config{})
	if got, want := node2.AdminAddr(), net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); got != want {
		t.Fatalf("admin listener %q, want %q", got, want)
	}
	if code, _, _ := httpGet(t, http.MethodGet, "http://"+node2.AdminAddr()+"/healthz"); code != 200 {
		t.Errorf("/healthz on http.admin_port: %d", code)
	}
}
