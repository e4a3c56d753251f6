package tracker

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/proto/trackerpb"
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

// TestNodeReloadAllowHosts: Reload swaps allow_hosts for the next calls; a bad line is refused
// with its file:line and the list in force stays.
func TestNodeReloadAllowHosts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracker.conf")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	load := func(allow string) conf.Tracker {
		t.Helper()
		text := fmt.Sprintf("base_path = %s\nbind_addr = 127.0.0.1\nport = %d\n%s", dir, port, allow)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		tc, err := conf.LoadTracker(path, nil)
		if err != nil {
			t.Fatalf("LoadTracker: %v", err)
		}
		return *tc
	}
	n, err := StartNode(NodeConfig{Tracker: load("allow_hosts = 127.0.0.1\n"), Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	conn, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := trackerpb.NewTrackerServiceClient(conn)
	call := func() codes.Code {
		_, err := cl.GetParameters(t.Context(), &trackerpb.GetParametersRequest{})
		return status.Code(err)
	}
	if got := call(); got != codes.OK {
		t.Fatalf("allowed client: %v", got)
	}
	if err := n.Reload(load("allow_hosts = 10.0.0.1\n")); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != codes.PermissionDenied {
		t.Fatalf("after Reload to 10.0.0.1: %v, want PERMISSION_DENIED", got)
	}
	err = n.Reload(load("allow_hosts = 127.0.0.1\nallow_hosts = 10.0.0.[1-3\n"))
	if err == nil || !strings.Contains(err.Error(), path+":5") {
		t.Fatalf("bad line: Reload = %v, want an error naming %s:5", err, path)
	}
	if got := call(); got != codes.PermissionDenied {
		t.Errorf("after a refused Reload: %v, want the list in force (PERMISSION_DENIED)", got)
	}
	if err := n.Reload(load("allow_hosts = *\n")); err != nil || call() != codes.OK {
		t.Errorf("Reload to *: %v, call %v", err, call())
	}
}
