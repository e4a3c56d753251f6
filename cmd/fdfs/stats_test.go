package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/testcluster"
)

// TestStatsCommand: beacon hits spread over the storages of a cluster add up in fdfs stats
// (table and JSON), asked through the trackers or of one storage.
func TestStatsCommand(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 1, Groups: []string{"group1"}, StoragesPerGroup: 2,
		Storage: func(_ string, _ int, sc *conf.Storage, _ *storage.Config) { sc.HTTP.Controlled.StatsEnabled = true }})
	tr := []string{"-tracker", strings.Join(c.TrackerAddrs(), ",")}
	c.Eventually("storages report their HTTP URLs", 10*time.Second, func() error {
		out := mustRun(t, "", append(tr, "monitor")...)
		if strings.Count(out, "ACTIVE") < 2 {
			return fmt.Errorf("monitor:\n%s", out)
		}
		return nil
	})
	hits := map[string]int{"41": 30, "42": 20, "43": 50}
	i := 0
	for v, n := range hits {
		for range n {
			s := c.Storages[i%len(c.Storages)]
			i++
			resp, err := http.Get("http://" + s.Node().HTTPAddr() + "/event.png?category=h5&action=pv&label=85&value=" + v)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("beacon: %s", resp.Status)
			}
		}
	}
	// A storage counts a hit a moment after answering it: wait until both have.
	var out string
	today := time.Now().Format(time.DateOnly)
	c.Eventually("every hit counted", 10*time.Second, func() error {
		out = mustRun(t, "", append(tr, "stats", "-prefix", "h5.pv.85")...)
		for key, want := range map[string]int{"h5.pv.85": 100, "h5.pv.85.41": 30, "h5.pv.85.42": 20, "h5.pv.85.43": 50} {
			if !regexp.MustCompile(fmt.Sprintf(`(?m)^%s\s+%s\s+pv=%d$`, today, regexp.QuoteMeta(key), want)).MatchString(out) {
				return fmt.Errorf("stats table lacks %s pv=%d:\n%s", key, want, out)
			}
		}
		return nil
	})
	t.Logf("fdfs stats:\n%s", out)
	if !strings.Contains(out, "(2 storages)") {
		t.Errorf("stats did not ask both storages:\n%s", out)
	}
	var rows []statsRow
	if err := json.Unmarshal([]byte(mustRun(t, "", append(tr, "stats", "-prefix", "h5.pv.85", "-json")...)), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0].EventKey != "h5.pv.85" || rows[0].EventData["pv"] != 100 || rows[0].EventDate != today {
		t.Errorf("json rows %+v", rows)
	}
	one := mustRun(t, "", "stats", "-storage", c.Storages[0].Node().HTTPAddr(), "-prefix", "h5.pv.85", "-json")
	if err := json.Unmarshal([]byte(one), &rows); err != nil || rows[0].EventData["pv"] != 50 {
		t.Errorf("one storage: %v %+v (want 50 of the 100 hits)", err, rows)
	}
}
