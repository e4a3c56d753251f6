package tracker_test

import (
	"encoding/json"
	"testing"

	"github.com/depotfs/depot/internal/clusterpage"
)

// TestNodeServesClusterPage: the tracker node serves the cluster page and its state on the
// admin port; the state shows a storage that joined, ACTIVE with its store path's space.
func TestNodeServesClusterPage(t *testing.T) {
	n := startTracker(t, true, nil)
	s := startStorage(t, n.Addr())
	base := "http://" + n.AdminAddr()
	if code, body := get(t, base+"/cluster/"); code != 200 || len(body) < 100 {
		t.Fatalf("/cluster/: %d %q", code, body)
	}
	var v clusterpage.View
	waitFor(t, "the storage ACTIVE with its disk in state.json", func() bool {
		code, body := get(t, base+"/cluster/state.json")
		if code != 200 {
			t.Fatalf("state.json: %d %q", code, body)
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("state.json: %v in %q", err, body)
		}
		return len(v.Groups) == 1 && len(v.Groups[0].Storages) == 1 && v.Groups[0].Storages[0].State == "ACTIVE" &&
			len(v.Groups[0].Storages[0].Paths) == 1
	})
	st := v.Groups[0].Storages[0]
	if v.Groups[0].Name != "group1" || st.Key != s.GRPCAddr() || st.Paths[0].TotalBytes == 0 || st.Paths[0].FreeBytes > st.Paths[0].TotalBytes ||
		v.Tracker.Addr != n.Addr() {
		t.Fatalf("state.json: tracker %+v, group %s, storage %+v", v.Tracker, v.Groups[0].Name, st)
	}
}
