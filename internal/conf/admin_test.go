package conf

import (
	"path/filepath"
	"testing"
)

// TestAdminPort: http.admin_port is off by default, read from storage.conf and tracker.conf,
// and refused at its file:line when it is no port or one of the node's other ports.
func TestAdminPort(t *testing.T) {
	storage := func(p string) error { _, err := LoadStorage(p, nil); return err }
	tracker := func(p string) error { _, err := LoadTracker(p, nil); return err }
	for _, tc := range []struct {
		name, file, text string
		load             func(string) error
		line             int
	}{
		{"storage not a number", "storage.conf", "base_path=/a\ngroup_name=g\nhttp.admin_port = nine\n", storage, 3},
		{"storage negative", "storage.conf", "base_path=/a\ngroup_name=g\n\nhttp.admin_port = -1\n", storage, 4},
		{"storage too large", "storage.conf", "base_path=/a\ngroup_name=g\nhttp.admin_port = 65536\n", storage, 3},
		{"storage same as port", "storage.conf", "base_path=/a\ngroup_name=g\nport = 9100\nhttp.admin_port = 9100\n", storage, 4},
		{"storage same as http", "storage.conf", "base_path=/a\ngroup_name=g\nhttp.admin_port = 8888\n", storage, 3},
		{"tracker negative", "tracker.conf", "base_path=/a\nhttp.admin_port = -5\n", tracker, 2},
		{"tracker same as port", "tracker.conf", "base_path=/a\nhttp.admin_port = 22122\n", tracker, 2},
		{"tracker same as default gossip", "tracker.conf", "base_path=/a\nport = 9000\nhttp.admin_port = 9001\n", tracker, 3},
		{"tracker same as raft", "tracker.conf", "base_path=/a\nraft_port = 9200\nhttp.admin_port = 9200\n", tracker, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, tc.load, tc.file, tc.text, ErrInvalidValue, "http.admin_port", tc.line)
		})
	}

	dir := writeFiles(t, map[string]string{
		"off.conf":      "base_path=/a\ngroup_name=g\n",
		"storage.conf":  "base_path=/a\ngroup_name=g\nhttp.admin_port = 9100\n",
		"tracker.conf":  "base_path=/a\nhttp.admin_port = 9101\n",
		"tracker0.conf": "base_path=/a\nhttp.admin_port = 0\n",
	})
	off, err := LoadStorage(filepath.Join(dir, "off.conf"), nil)
	if err != nil || off.HTTP.AdminPort != 0 {
		t.Fatalf("default storage admin port %+v, %v; want 0 (off)", off, err)
	}
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil || s.HTTP.AdminPort != 9100 {
		t.Fatalf("storage admin port %+v, %v; want 9100", s, err)
	}
	tr, err := LoadTracker(filepath.Join(dir, "tracker.conf"), nil)
	if err != nil || tr.AdminPort != 9101 {
		t.Fatalf("tracker admin port %+v, %v; want 9101", tr, err)
	}
	tr0, err := LoadTracker(filepath.Join(dir, "tracker0.conf"), nil)
	if err != nil || tr0.AdminPort != 0 {
		t.Fatalf("tracker admin port 0: %+v, %v; want off", tr0, err)
	}
}
