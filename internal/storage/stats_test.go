package storage_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/storage"
)

type statsRow struct {
	EventDate string           `json:"eventDate"`
	EventKey  string           `json:"eventKey"`
	EventData map[string]int64 `json:"eventData"`
}

func getJSON(t *testing.T, url, referer string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("GET %s: %s: body %q is not JSON: %v", url, resp.Status, b, err)
		}
	}
	return resp.StatusCode
}

// TestBeaconAndStats: the beacon hit 100 times for h5.pv.85 (30 with value 41, 20 with 42, 50
// with 43) gives exactly those counts from /stats; a download that completed shows in
// completed; a refused referer gets 401 with the JSON body; a refused download referer 403.
func TestBeaconAndStats(t *testing.T) {
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "http.stats.enabled = true\nhttp.stats.allow_referers = app.example.com\n"+
		"http.download.allow_referers = none, shop.example.com\n")
	base := "http://" + node.HTTPAddr()
	ref := "https://app.example.com/page"
	for v, n := range map[string]int{"41": 30, "42": 20, "43": 50} {
		for range n {
			req, _ := http.NewRequest(http.MethodGet, base+"/event.png?category=h5&action=pv&label=85&value="+v, nil)
			req.Header.Set("Referer", ref)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(b), "\x89PNG") ||
				!strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
				t.Fatalf("beacon: %s %q %q", resp.Status, resp.Header, b)
			}
		}
	}
	id, _ := uploadRandom(t, node, 64<<10)
	if code, _, _ := httpGet(t, http.MethodGet, base+"/"+id); code != 200 {
		t.Fatalf("download without Referer (none allowed): %d", code)
	}
	waitEvents(t, rc, 1)
	node.Accounting().Sync()

	today := time.Now().Format(time.DateOnly)
	var rows []statsRow
	if code := getJSON(t, base+"/stats?from="+today+"&to="+today+"&prefix=h5.pv.85", ref, &rows); code != 200 {
		t.Fatalf("/stats: %d", code)
	}
	got := map[string]int64{}
	for _, r := range rows {
		if r.EventDate != today {
			t.Errorf("row of %s", r.EventDate)
		}
		got[r.EventKey] = r.EventData["pv"]
	}
	want := map[string]int64{"h5.pv.85": 100, "h5.pv.85.41": 30, "h5.pv.85.42": 20, "h5.pv.85.43": 50}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("/stats h5.pv.85 = %v, want %v", got, want)
	}
	rows = nil
	getJSON(t, base+"/stats?from="+today+"&to="+today+"&prefix=download", ref, &rows)
	var dl map[string]int64
	for _, r := range rows {
		if r.EventKey == "download" {
			dl = r.EventData
		}
	}
	if dl["completed"] != 1 || dl["requests"] != 1 || dl["bytes"] != 64<<10 {
		t.Errorf("download counters %v, want 1 request of 65536 acknowledged bytes, completed 1", dl)
	}

	var e struct{ Code, Message string }
	if code := getJSON(t, base+"/stats?from="+today+"&to="+today, "https://evil.example/", &e); code != 401 || e.Code != "40010" || e.Message == "" {
		t.Errorf("refused referer: %d %+v, want 401 code 40010", code, e)
	}
	if code := getJSON(t, base+"/event.png?category=h5", "", &e); code != 401 {
		t.Errorf("beacon without Referer: %d, want 401", code)
	}
	if code := getJSON(t, base+"/stats?from=2021-13-01&to="+today, ref, &e); code != 400 || e.Message == "" {
		t.Errorf("bad date: %d %+v, want 400 with a message", code, e)
	}
	if code := getJSON(t, base+"/stats?from=2020-01-01&to="+today, ref, &e); code != 400 {
		t.Errorf("range over max_days: %d, want 400", code)
	}
	if code := getJSON(t, base+"/event.png?category=h5&action=p%3Cv", ref, &e); code != 400 {
		t.Errorf("bad beacon key: %d, want 400", code)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/"+id, nil)
	req.Header.Set("Referer", "https://evil.example/")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("download with a refused referer: %s, want 403", resp.Status)
	}
}

// TestRotatedLogImported: the node imports its access log when it rotates (the daily job):
// the day's page views stay what was counted live (nothing twice), and the file is recorded
// as imported, so a later logstats of it, or of its gzipped copy, changes nothing.
func TestRotatedLogImported(t *testing.T) {
	dir := t.TempDir()
	loc := time.Local
	clock := &settableClock{t: time.Date(2026, 3, 10, 23, 59, 0, 0, loc)}
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nreserved_storage_space = 1%%\nhttp.mod_fastdfs_conf = mod_fastdfs.conf\n"+
		"http.stats.enabled = true\nlog_file_rotate_everyday = true\n", dir)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n"
	logs := &syncWriter{w: &strings.Builder{}}
	node := launchWith(t, dir, storageConf, modConf, storage.Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	base := "http://" + node.HTTPAddr()
	for range 7 {
		if code := getJSON(t, base+"/event.png?category=h5&action=pv", "", nil); code != 200 {
			t.Fatalf("beacon: %d", code)
		}
	}
	waitLines(t, filepath.Join(dir, "logs", "access.log"), 7)
	clock.Set(time.Date(2026, 3, 11, 0, 0, 1, 0, loc))
	getJSON(t, base+"/event.png?category=h5", "", nil) // the first line of the new day rotates
	rotated := filepath.Join(dir, "logs", "access.2026-03-10.log")
	waitLines(t, rotated, 7)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "rotated access log imported") {
		if time.Now().After(deadline) {
			t.Fatalf("the rotated log was not imported; node log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var rows []statsRow
	getJSON(t, base+"/stats?from=2026-03-10&to=2026-03-10&prefix=h5.pv", "", &rows)
	if len(rows) != 1 || rows[0].EventData["pv"] != 7 {
		t.Errorf("2026-03-10 h5.pv after the import = %+v, want pv 7 (live and imported, not added)", rows)
	}
	if !strings.Contains(logs.String(), "lines=7 counted=7 skipped=false") {
		t.Errorf("import line: %s", logs.String())
	}
}

// syncWriter serializes writes to w (the node logs from several goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
