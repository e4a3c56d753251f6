package storage_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/proto/trackerpb"
)

// fakeTracker records what storages send and answers with a fixed membership.
type fakeTracker struct {
	trackerpb.UnimplementedTrackerServiceServer
	addr string
	srv  *grpc.Server

	mu           sync.Mutex
	joins        []*trackerpb.JoinRequest
	beats        []*trackerpb.HeartbeatRequest
	peers        []string
	members      []*trackerpb.StorageBrief
	forget       bool // answer the next heartbeat NOT_FOUND
	params       []*trackerpb.Parameter
	leaves       []*trackerpb.LeaveRequest
	beatsAtLeave int // heartbeats received when the first Leave came
}

func startFakeTracker(t *testing.T, host string) *fakeTracker {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	f := &fakeTracker{addr: ln.Addr().String(), srv: srv}
	trackerpb.RegisterTrackerServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return f
}

func (f *fakeTracker) notePeer(ctx context.Context) {
	if p, ok := peer.FromContext(ctx); ok {
		f.peers = append(f.peers, p.Addr.String())
	}
}

func (f *fakeTracker) Join(ctx context.Context, r *trackerpb.JoinRequest) (*trackerpb.JoinResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notePeer(ctx)
	f.joins = append(f.joins, r)
	return &trackerpb.JoinResponse{Status: trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE,
		StorageKey: fmt.Sprintf("%s:%d", r.GetAddr(), r.GetPort()), YourAddr: "127.0.0.3",
		Group: r.GetGroup(), Members: f.members, Parameters: f.params}, nil
}

func (f *fakeTracker) Heartbeat(ctx context.Context, r *trackerpb.HeartbeatRequest) (*trackerpb.HeartbeatResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notePeer(ctx)
	if f.forget {
		f.forget = false
		return nil, status.Error(codes.NotFound, "unknown storage")
	}
	f.beats = append(f.beats, r)
	return &trackerpb.HeartbeatResponse{Status: trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE, Members: f.members}, nil
}

func (f *fakeTracker) GetParameters(context.Context, *trackerpb.GetParametersRequest) (*trackerpb.GetParametersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &trackerpb.GetParametersResponse{Params: f.params}, nil
}

func (f *fakeTracker) Leave(ctx context.Context, r *trackerpb.LeaveRequest) (*trackerpb.LeaveResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.leaves) == 0 {
		f.beatsAtLeave = len(f.beats)
	}
	f.leaves = append(f.leaves, r)
	return &trackerpb.LeaveResponse{Status: trackerpb.StorageStatus_STORAGE_STATUS_OFFLINE}, nil
}

func (f *fakeTracker) counts() (joins, beats int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.joins), len(f.beats)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startReportingNode starts a node on 127.0.0.3 reporting to the given trackers.
func startReportingNode(t *testing.T, modExtra string, trackers ...string) *storage.Server {
	t.Helper()
	return startReportingNodeWith(t, "", modExtra, trackers...)
}

// startReportingNodeWith is startReportingNode with more storage.conf lines.
func startReportingNodeWith(t *testing.T, extra, modExtra string, trackers ...string) *storage.Server {
	t.Helper()
	dir := t.TempDir()
	body := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.3\nport = 23000\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nhttp.server_port = 8888\nreserved_storage_space = 1%%\n", dir) + extra
	for _, tr := range trackers {
		body += "tracker_server = " + tr + "\n"
	}
	return launch(t, dir, body,
		"base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = "+dir+"\n"+modExtra,
		func(sc *conf.Storage) {
			sc.Port, sc.HTTP.ServerPort = 0, 0
			sc.HeartBeatInterval = 20 * time.Millisecond
		})
}

func TestReporterJoinsEveryTracker(t *testing.T) {
	a, b := startFakeTracker(t, "127.0.0.1"), startFakeTracker(t, "127.0.0.1")
	node := startReportingNode(t, "", a.addr, b.addr)
	for _, f := range []*fakeTracker{a, b} {
		waitFor(t, "join and two heartbeats on "+f.addr, func() bool { j, h := f.counts(); return j >= 1 && h >= 2 })
		f.mu.Lock()
		j, h := f.joins[0], f.beats[0]
		_, port, _ := net.SplitHostPort(node.GRPCAddr())
		_, hport, _ := net.SplitHostPort(node.HTTPAddr())
		if j.GetAddr() != "127.0.0.3" || fmt.Sprint(j.GetPort()) != port || j.GetGroup() != "group1" ||
			j.GetHttpUrl() != "http://127.0.0.3:"+hport || strings.Join(j.GetTrackerServers(), ",") != a.addr+","+b.addr ||
			j.GetStorePathCount() != 1 || j.GetSubdirCount() != 2 {
			t.Errorf("join = %v", j)
		}
		if len(h.GetDisk()) != 1 || h.GetDisk()[0].GetTotalBytes() == 0 || h.GetStorageKey() != "127.0.0.3:"+port {
			t.Errorf("heartbeat = %v", h)
		}
		for _, p := range f.peers {
			if !strings.HasPrefix(p, "127.0.0.3:") {
				t.Errorf("tracker saw a connection from %s; want it from bind_addr 127.0.0.3", p)
			}
		}
		f.mu.Unlock()
	}
	if k := node.TrackerKeys(); len(k) != 2 {
		t.Errorf("TrackerKeys = %v", k)
	}

	// A tracker that forgot the node gets a new Join.
	a.mu.Lock()
	a.forget = true
	joins, _ := len(a.joins), 0
	a.mu.Unlock()
	waitFor(t, "rejoin after NOT_FOUND", func() bool { j, _ := a.counts(); return j > joins })
}

func TestReporterMembersGiveSourceURL(t *testing.T) {
	// A peer whose files the node does not have: redirects go to its advertised URL.
	f := startFakeTracker(t, "127.0.0.1")
	f.members = []*trackerpb.StorageBrief{{Key: "127.0.0.9:23000", Addr: "127.0.0.9", Port: 23000, HttpUrl: "http://files.example:8080"}}
	f.params = []*trackerpb.Parameter{{Key: "storage_sync_file_max_delay", Value: "7200"}}
	node := startReportingNode(t, "response_mode = redirect\nload_fdfs_parameters_from_tracker = true\ntracker_server = "+f.addr+"\n", f.addr)
	waitFor(t, "membership", func() bool { return len(node.Members()) == 1 })
	if p := node.TrackerParams(); p["storage_sync_file_max_delay"] != "7200" {
		t.Errorf("TrackerParams = %v", p)
	}

	// group1/M00/00/00/ + base64 of source 127.0.0.9, now, size 1, crc.
	id := peerFileID(t, [4]byte{127, 0, 0, 9}, time.Now().Add(-time.Hour))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("http://" + node.HTTPAddr() + "/" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://files.example:8080/"+id) {
		t.Errorf("GET a peer's file = %d, Location %q; want 302 to the advertised URL", resp.StatusCode, loc)
	}
	// An unknown source falls back to its IPv4 address.
	id2 := peerFileID(t, [4]byte{127, 0, 0, 8}, time.Now().Add(-time.Hour))
	resp, err = c.Get("http://" + node.HTTPAddr() + "/" + id2)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "http://127.0.0.8:") {
		t.Errorf("GET an unknown source's file: %d Location %q; want the source's IPv4", resp.StatusCode, loc)
	}
	// The tracker's storage_sync_file_max_delay (2 h) applies: a 3 h old file is not
	// looked for elsewhere.
	id3 := peerFileID(t, [4]byte{127, 0, 0, 9}, time.Now().Add(-3*time.Hour))
	resp, err = c.Get("http://" + node.HTTPAddr() + "/" + id3)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a 3 h old peer file = %d; want 404 (max delay from the tracker)", resp.StatusCode)
	}
}

func peerFileID(t *testing.T, src [4]byte, created time.Time) string {
	t.Helper()
	id, err := fileid.New(fileid.NewParams{Group: "group1", Source: src, Created: created.Unix(), Size: 1, Ext: "txt"})
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
