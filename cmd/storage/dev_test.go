package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/depotfs/depot/internal/conf"
)

// TestDevConfig checks that the files "storage -dev" writes load cleanly, point at the data
// folder, and are kept (not overwritten) on the next start.
func TestDevConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "depot-data")
	p, err := writeDevConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := conf.LoadStorage(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	if sc.BasePath != abs || len(sc.StorePaths) != 1 || sc.StorePaths[0].Path != abs {
		t.Fatalf("base_path %q store paths %+v, want %q", sc.BasePath, sc.StorePaths, abs)
	}
	if sc.BindAddr != "127.0.0.1" || sc.Port != 23000 || sc.HTTP.ServerPort != 8888 || sc.GroupName != "group1" || len(sc.TrackerServers) != 1 {
		t.Fatalf("dev storage.conf: %+v", sc)
	}
	mod, err := conf.LoadMod(sc.HTTP.ModFastDFSConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !mod.URLHaveGroupName || mod.HTTP.AntiSteal.CheckToken || mod.GroupName != "group1" {
		t.Fatalf("dev mod_fastdfs.conf: %+v", mod)
	}
	if err := os.WriteFile(p, []byte("# edited\ngroup_name = g2\nbase_path = ..\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writeDevConfig(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b[:8]) != "# edited" {
		t.Fatalf("writeDevConfig overwrote an edited storage.conf: %q", b)
	}
}
