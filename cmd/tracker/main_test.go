package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"version", []string{"-version"}, "", "depot tracker dev\n"},
		{"no config", nil, "need -c tracker.conf", ""},
		{"extra argument", []string{"-c", "x", "y"}, "unexpected arguments", ""},
		{"missing file", []string{"-c", filepath.Join(t.TempDir(), "nope.conf")}, "nope.conf", ""},
		{"unknown flag", []string{"-x"}, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(t.Context(), tt.args, &out, &errOut)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Fatalf("stdout = %q", out.String())
			}
		})
	}
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeConf writes a tracker.conf on 127.0.0.1 with free ports into dir.
func writeConf(t *testing.T, dir string) string {
	t.Helper()
	text := fmt.Sprintf(`bind_addr = 127.0.0.1
port = %d
gossip_port = %d
raft_port = %d
base_path = %s
check_active_interval = 30
log_level = warn
`, freePort(t), freePort(t), freePort(t), dir)
	p := filepath.Join(dir, "tracker.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startTracker runs serve until the test ends or stop is called.
func startTracker(t *testing.T, confPath string) (trackerpb.TrackerServiceClient, listening, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan listening, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- serve(ctx, confPath, &logs, func(l listening) { ready <- l }) }()
	var l listening
	select {
	case l = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	conn, err := grpc.NewClient(l.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return trackerpb.NewTrackerServiceClient(conn), l, stop
}

func TestServeJoinRestartDelete(t *testing.T) {
	dir := t.TempDir()
	confPath := writeConf(t, dir)
	cli, l, stop := startTracker(t, confPath)
	ctx := t.Context()
	if !strings.HasPrefix(l.GRPC, "127.0.0.1:") || !strings.HasPrefix(l.Gossip, "127.0.0.1:") || !strings.HasPrefix(l.Raft, "127.0.0.1:") {
		t.Fatalf("listeners not on bind_addr: %+v", l)
	}
	j, err := cli.Join(ctx, &trackerpb.JoinRequest{Group: "group1", Addr: "127.0.0.2", Port: 23000,
		StorePathCount: 1, SubdirCount: 256, TrackerServers: []string{l.GRPC}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Heartbeat(ctx, &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: j.GetStorageKey()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", metaFile)); err != nil {
		t.Fatalf("bbolt file: %v", err)
	}
	stop()

	cli, _, _ = startTracker(t, confPath)
	r, err := cli.ListGroups(ctx, &trackerpb.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetGroups()) != 1 || r.GetGroups()[0].GetStorages()[0].GetStatusName() != "ACTIVE" {
		t.Fatalf("after restart: %v", r)
	}
	// The storage's one-tracker list lets this tracker elect itself; then it may delete.
	if _, err := cli.Join(ctx, &trackerpb.JoinRequest{Group: "group1", Addr: "127.0.0.3", Port: 23000,
		StorePathCount: 1, SubdirCount: 256, TrackerServers: []string{l.GRPC}}); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, cli)
	_, err = cli.DeleteStorage(ctx, &trackerpb.DeleteStorageRequest{Group: "group1", StorageKey: "127.0.0.3:23000"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "ONLINE") {
		t.Fatalf("delete of an ONLINE storage: %v", err)
	}
	_, err = cli.DeleteStorage(ctx, &trackerpb.DeleteStorageRequest{Group: "group1", StorageKey: "127.0.0.9:1"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("delete of an unknown storage: %v", err)
	}
}

// waitLeader polls until the tracker has elected itself.
func waitLeader(t *testing.T, cli trackerpb.TrackerServiceClient) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := cli.TrackerInfo(t.Context(), &trackerpb.TrackerInfoRequest{})
		if err == nil && info.GetIsLeader() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader: %v %v", info, err)
		}
		time.Sleep(50 * time.Millisecond) // polls a background election
	}
}

// storageStatus returns the status name of a storage in group1.
func storageStatus(t *testing.T, cli trackerpb.TrackerServiceClient, key string) string {
	t.Helper()
	r, err := cli.ListGroups(t.Context(), &trackerpb.ListGroupsRequest{Group: "group1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range r.GetGroups()[0].GetStorages() {
		if st.GetBrief().GetKey() == key {
			return st.GetStatusName()
		}
	}
	return "MISSING"
}

func TestAllowHosts(t *testing.T) {
	dir := t.TempDir()
	confPath := writeConf(t, dir)
	f, err := os.OpenFile(confPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "allow_hosts = 10.0.0.[1-3]")
	f.Close()
	cli, _, _ := startTracker(t, confPath)
	_, err = cli.TrackerInfo(t.Context(), &trackerpb.TrackerInfoRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("call from 127.0.0.1: %v", err)
	}
}

func TestDeleteThroughRaft(t *testing.T) {
	dir := t.TempDir()
	confPath := writeConf(t, dir)
	data, _ := os.ReadFile(confPath)
	if err := os.WriteFile(confPath, bytes.Replace(data, []byte("check_active_interval = 30"), []byte("check_active_interval = 1"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cli, l, _ := startTracker(t, confPath)
	ctx := t.Context()
	j, err := cli.Join(ctx, &trackerpb.JoinRequest{Group: "group1", Addr: "127.0.0.2", Port: 23000,
		StorePathCount: 1, SubdirCount: 256, TrackerServers: []string{l.GRPC}})
	if err != nil {
		t.Fatal(err)
	}
	waitLeader(t, cli)
	for storageStatus(t, cli, j.GetStorageKey()) != "OFFLINE" {
		time.Sleep(50 * time.Millisecond) // polls the OFFLINE sweep
	}
	if _, err := cli.DeleteStorage(ctx, &trackerpb.DeleteStorageRequest{Group: "group1", StorageKey: j.GetStorageKey()}); err != nil {
		t.Fatal(err)
	}
	if got := storageStatus(t, cli, j.GetStorageKey()); got != "DELETED" {
		t.Fatalf("after delete: %s", got)
	}
}
