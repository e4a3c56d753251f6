package client_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
	"github.com/depotfs/depot/proto/trackerpb"
)

// fakeTracker answers queries with fixed storages.
type fakeTracker struct {
	trackerpb.UnimplementedTrackerServiceServer
	addr string
	srv  *grpc.Server

	mu     sync.Mutex
	store  []*trackerpb.StorageBrief // QueryStore answers in turn
	fetch  []*trackerpb.StorageBrief
	update *trackerpb.StorageBrief
	calls  int
}

func startTracker(t *testing.T) *fakeTracker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTracker{addr: ln.Addr().String(), srv: grpc.NewServer()}
	trackerpb.RegisterTrackerServiceServer(f.srv, f)
	go f.srv.Serve(ln)
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *fakeTracker) QueryStore(context.Context, *trackerpb.QueryStoreRequest) (*trackerpb.QueryStoreResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.store) == 0 {
		return nil, status.Error(codes.NotFound, "no storage")
	}
	b := f.store[f.calls%len(f.store)]
	f.calls++
	return &trackerpb.QueryStoreResponse{Group: "group1", Storage: b, StorePathIndex: 0}, nil
}

func (f *fakeTracker) QueryFetch(context.Context, *trackerpb.QueryFileRequest) (*trackerpb.QueryFetchResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &trackerpb.QueryFetchResponse{Storages: f.fetch}, nil
}

func (f *fakeTracker) QueryUpdate(context.Context, *trackerpb.QueryFileRequest) (*trackerpb.QueryUpdateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &trackerpb.QueryUpdateResponse{Storage: f.update}, nil
}

func brief(t *testing.T, addr string) *trackerpb.StorageBrief {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return &trackerpb.StorageBrief{Key: addr, Group: "group1", Addr: host, Port: int32(p)}
}

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func TestTrackerModeFailover(t *testing.T) {
	s1 := svctest.Start(t)
	dead := deadAddr(t)
	tr := startTracker(t)
	tr.store = []*trackerpb.StorageBrief{brief(t, dead), brief(t, s1.Addr)} // the first is down
	tr.fetch = []*trackerpb.StorageBrief{brief(t, dead), brief(t, s1.Addr)}
	tr.update = brief(t, s1.Addr)

	// The first tracker is down: the client uses the next.
	c, err := client.New(client.Config{Trackers: []string{deadAddr(t), tr.addr}, RetryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	data := []byte("hello through a tracker")
	id, err := c.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Ext: "txt", Size: int64(len(data))})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if n := len(s1.Files(t)); n != 1 {
		t.Errorf("files on the live storage = %d; want 1", n)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, id, &buf, 0, 0); err != nil || buf.String() != string(data) {
		t.Fatalf("Download = %q, %v", buf.String(), err)
	}
	if err := c.SetMetadata(ctx, id, map[string]string{"k": "v"}, true); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Metadata(ctx, id); err != nil || m["k"] != "v" {
		t.Errorf("Metadata = %v, %v", m, err)
	}
	if fi, err := c.Info(ctx, id); err != nil || fi.Size != int64(len(data)) {
		t.Errorf("Info = %+v, %v", fi, err)
	}
	if err := c.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(ctx, id, &buf, 0, 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Download after Delete = %v; want ErrNotFound", err)
	}
}

func TestTrackerModeNoStorage(t *testing.T) {
	tr := startTracker(t)
	c, err := client.New(client.Config{Trackers: []string{tr.addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Upload(t.Context(), strings.NewReader("x"), client.UploadOptions{})
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Upload with no storage = %v; want ErrNotFound from the tracker", err)
	}
}

// lossyStorage is a storage whose first upload answers are lost after the file is stored.
type lossyStorage struct {
	addr  string
	dir   string
	lose  atomic.Int32 // answers still to lose
	calls atomic.Int32
}

func startLossyStorage(t *testing.T, lose int32) *lossyStorage {
	t.Helper()
	l := &lossyStorage{dir: t.TempDir()}
	l.lose.Store(lose)
	store, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: l.dir}}, SubdirCount: 2,
		StatFile: filepath.Join(t.TempDir(), "stat.dat"), Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	srv := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if !strings.HasSuffix(info.FullMethod, "/Upload") {
			return h(srv, ss)
		}
		l.calls.Add(1)
		if l.lose.Add(-1) < 0 {
			return h(srv, ss)
		}
		// Run the upload, swallow its answer and fail the call as a broken connection would.
		if err := h(srv, swallow{ss}); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "connection lost (test)")
	}))
	storagesvc.New(store, storagesvc.Options{Group: "group1"}).Register(srv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop(); store.Close() })
	return l
}

type swallow struct{ grpc.ServerStream }

func (swallow) SendMsg(any) error { return nil }

func TestTrackerModeLostAnswerStoresOnce(t *testing.T) {
	st := startLossyStorage(t, 2)
	tr := startTracker(t)
	tr.store = []*trackerpb.StorageBrief{brief(t, st.addr)}
	c, err := client.New(client.Config{Trackers: []string{tr.addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("z"), 600<<10) // several chunks
	id, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Ext: "bin"})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if n := st.calls.Load(); n != 3 {
		t.Errorf("upload calls = %d; want 3 (two lost answers, then the answer)", n)
	}
	files := 0
	_ = filepath.WalkDir(filepath.Join(st.dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".bin") {
			files++
			if !strings.HasSuffix(id, filepath.Base(p)) {
				t.Errorf("stored %s; the client got %s", p, id)
			}
		}
		return nil
	})
	if files != 1 {
		t.Errorf("files stored = %d; want exactly 1", files)
	}
}
