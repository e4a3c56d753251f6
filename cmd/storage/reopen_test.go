package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
)

// TestSIGUSR1Reopens runs the storage binary, moves its access log away as logrotate does and
// sends SIGUSR1: lines before the signal are in the moved file, lines after it in a new file
// at the configured path, none lost.
func TestSIGUSR1Reopens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the storage binary")
	}
	bin := buildStorage(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, grpcPort, _ := net.SplitHostPort(grpcAddr)
	httpPort := freePort(t)
	confPath := filepath.Join(dir, "storage.conf")
	conf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nport = %s\nbase_path = %s\nstore_path0 = %s\n"+
		"subdir_count_per_path = 2\nhttp.server_port = %d\nreserved_storage_space = 1%%\nlog_level = info\n"+
		"http.access_log_format = $request_uri $status\n", grpcPort, dir, dir, httpPort)
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, bin, confPath, grpcAddr)
	c, err := client.New(client.Config{Storage: grpcAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Upload(t.Context(), strings.NewReader("rotate me"), client.UploadOptions{Ext: "txt"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(n int) string {
		path := fmt.Sprintf("/%s?n=%d", id, n)
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", httpPort, path))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return path + " 200"
	}
	live := filepath.Join(dir, "logs", "access.log")
	moved := live + ".1"
	before := []string{get(1), get(2)}
	waitFile(t, live, before, p)
	if err := os.Rename(live, moved); err != nil {
		t.Fatal(err)
	}
	before = append(before, get(3)) // still written to the moved file
	waitFile(t, moved, before, p)
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, p, func() bool { return strings.Contains(p.stderr.String(), "log files reopened") })
	after := []string{get(4)}
	waitFile(t, live, after, p)
	waitFile(t, moved, before, p)
}

// waitFile polls path until it holds exactly lines.
func waitFile(t *testing.T, path string, lines []string, p *proc) {
	t.Helper()
	want := strings.Join(lines, "\n") + "\n"
	waitFor(t, p, func() bool { b, _ := os.ReadFile(path); return string(b) == want })
}

func waitFor(t *testing.T, p *proc, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 10s; storage stderr:\n%s", p.stderr)
		}
	}
}
