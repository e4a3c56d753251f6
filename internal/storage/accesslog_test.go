package storage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// settableClock is the access log's clock in these tests.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *settableClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// waitLines polls path until it holds want lines and returns them.
func waitLines(t *testing.T, path string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) == 0 {
			lines = nil
		}
		if len(lines) >= want || time.Now().After(deadline) {
			if len(lines) != want {
				t.Fatalf("%s: %d lines %q, want %d", path, len(lines), lines, want)
			}
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAccessLogRotateAndReopen: a node's access log in a configured format rotates at
// midnight by the log_file_* keys, and after an external mv, Reopen sends new lines to a new
// file at the path; no line is lost.
func TestAccessLogRotateAndReopen(t *testing.T) {
	dir := t.TempDir()
	clock := &settableClock{t: time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)}
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nreserved_storage_space = 1%%\nhttp.mod_fastdfs_conf = mod_fastdfs.conf\n"+
		"http.access_log_format = $request_uri $status $body_bytes_sent $depot_bytes_acked \"$request_completion\"\n"+
		"log_file_rotate_everyday = true\n", dir)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n"
	node := launchWith(t, dir, storageConf, modConf, storage.Config{Now: clock.Now})
	id, body := uploadRandom(t, node, 64<<10)
	url := "http://" + node.HTTPAddr() + "/" + id
	get := func(n int) {
		if st, _, b := httpGet(t, "GET", fmt.Sprintf("%s?n=%d", url, n)); st != 200 || len(b) != len(body) {
			t.Fatalf("GET %d: status %d, %d bytes", n, st, len(b))
		}
	}
	logs := filepath.Join(dir, "logs")
	live := filepath.Join(logs, "access.log")
	line := func(n int) string { return fmt.Sprintf("/%s?n=%d 200 65536 65536 \"OK\"", id, n) }

	get(1)
	waitLines(t, live, 1)
	clock.Set(time.Date(2026, 3, 11, 0, 0, 1, 0, time.UTC))
	get(2)
	if got := waitLines(t, filepath.Join(logs, "access.2026-03-10.log"), 1); got[0] != line(1) {
		t.Errorf("rotated file: %q, want %q", got[0], line(1))
	}
	waitLines(t, live, 1)

	moved := filepath.Join(logs, "access.log.moved")
	if err := os.Rename(live, moved); err != nil {
		t.Fatal(err)
	}
	get(3) // still to the moved file
	waitLines(t, moved, 2)
	if err := node.Reopen(); err != nil {
		t.Fatal(err)
	}
	get(4)
	if got := waitLines(t, live, 1); got[0] != line(4) {
		t.Errorf("after Reopen: %q, want %q", got[0], line(4))
	}
	if got := waitLines(t, moved, 2); got[0] != line(2) || got[1] != line(3) {
		t.Errorf("moved file: %q, want lines 2 and 3", got)
	}
}

// TestAccessLogOff: http.access_log = off writes no file and Reopen does nothing.
func TestAccessLogOff(t *testing.T) {
	dir := t.TempDir()
	node := launch(t, dir, fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nreserved_storage_space = 1%%\nhttp.access_log = off\n", dir), "base_path = "+dir+"\ngroup_name = group1\nstore_path0 = "+dir+"\n",
		func(sc *conf.Storage) { sc.Port, sc.HTTP.ServerPort = 0, 0 })
	if err := node.Reopen(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "access.log")); !os.IsNotExist(err) {
		t.Errorf("access.log with the log off: %v", err)
	}
}
