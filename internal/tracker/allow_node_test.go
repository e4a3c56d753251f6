package tracker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/conf"
)

// TestStartNodeBadAllowHosts: a bad allow_hosts line is reported with its file:line before
// the tracker makes its data folder or opens its state database.
func TestStartNodeBadAllowHosts(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	path := filepath.Join(dir, "tracker.conf")
	text := "base_path = " + base + "\nbind_addr = 127.0.0.1\nallow_hosts = 127.0.0.1\nallow_hosts = 10.0.0.[1-3\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tc, err := conf.LoadTracker(path, nil)
	if err != nil {
		t.Fatalf("LoadTracker: %v", err)
	}
	_, err = StartNode(NodeConfig{Tracker: *tc, Single: true})
	if err == nil {
		t.Fatal("StartNode accepted allow_hosts 10.0.0.[1-3")
	}
	if want := path + ":4"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	if _, serr := os.Stat(filepath.Join(base, "data")); !os.IsNotExist(serr) {
		t.Errorf("tracker data folder made before allow_hosts was checked (stat: %v)", serr)
	}
}
