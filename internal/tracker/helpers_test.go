package tracker

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// clock is a fake time source tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_750_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a tracker served over real gRPC on 127.0.0.1 with a real bbolt file.
type env struct {
	t      *testing.T
	srv    *Server
	cli    trackerpb.TrackerServiceClient
	clock  *clock
	dbPath string
	cfg    Config
	stop   func()
	addr   string // the gRPC listener's address
	opts   []grpc.ServerOption
}

func testTrackerConf() conf.Tracker {
	t := conf.DefaultTracker()
	t.BasePath = "/unused"
	t.CheckActiveInterval = 10 * time.Second
	t.ReservedStorageSpace = conf.Reserved{Bytes: 100}
	t.SlotMaxSize = t.TrunkFileSize / 8
	return t
}

// start runs a tracker; edit may change its Config before New.
func start(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	return startWith(t, edit)
}

// startWith is start with gRPC server options.
func startWith(t *testing.T, edit func(*Config), opts ...grpc.ServerOption) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), dbPath: filepath.Join(t.TempDir(), "depot-tracker.db"), opts: opts}
	e.cfg = Config{Tracker: testTrackerConf(), Now: e.clock.Now, Addr: "127.0.0.1:22122"}
	if edit != nil {
		edit(&e.cfg)
	}
	e.open()
	return e
}

// open (re)starts the server on the env's bbolt file.
func (e *env) open() {
	t := e.t
	t.Helper()
	db, err := meta.Open(e.dbPath, meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.cfg
	cfg.Meta = db
	srv, err := New(cfg)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(e.opts...)
	srv.Register(gs)
	go gs.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
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
		gs.Stop()
		srv.Close()
		db.Close()
	}
	t.Cleanup(stop)
	e.srv, e.cli, e.addr = srv, trackerpb.NewTrackerServiceClient(conn), lis.Addr().String()
	e.stop = stop
}

// restart stops the server and starts a new one on the same bbolt file.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.open()
}

func (e *env) ctx() context.Context { return e.t.Context() }

// join joins a storage at addr:23000 in group with one store path and returns its key.
func (e *env) join(group, addr string, edit func(*trackerpb.JoinRequest)) *trackerpb.JoinResponse {
	e.t.Helper()
	req := &trackerpb.JoinRequest{Group: group, Addr: addr, Port: 23000, StorePathCount: 1, SubdirCount: 256,
		UploadPriority: 10, HttpUrl: "http://" + net.JoinHostPort(addr, "8888")}
	if edit != nil {
		edit(req)
	}
	resp, err := e.cli.Join(e.ctx(), req)
	if err != nil {
		e.t.Fatalf("join %s %s: %v", group, addr, err)
	}
	return resp
}

// beat heartbeats a storage with the given free bytes per path (total 1000 each).
func (e *env) beat(group, key string, hasFiles bool, free ...uint64) *trackerpb.HeartbeatResponse {
	e.t.Helper()
	req := &trackerpb.HeartbeatRequest{Group: group, StorageKey: key, HasFiles: hasFiles}
	for i, f := range free {
		req.Disk = append(req.Disk, &trackerpb.DiskUsage{PathIndex: int32(i), TotalBytes: 1000, FreeBytes: f})
	}
	resp, err := e.cli.Heartbeat(e.ctx(), req)
	if err != nil {
		e.t.Fatalf("heartbeat %s/%s: %v", group, key, err)
	}
	return resp
}

// active joins and heartbeats a storage so that it is ACTIVE, and returns its key.
func (e *env) active(group, addr string, free ...uint64) string {
	e.t.Helper()
	key := e.join(group, addr, nil).GetStorageKey()
	if st := e.beat(group, key, false, free...).GetStatus(); st != trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE {
		e.t.Fatalf("%s after join and heartbeat: %v", key, st)
	}
	return key
}

// status returns the status of a storage as ListGroups reports it.
func (e *env) status(group, key string) string {
	e.t.Helper()
	resp, err := e.cli.ListGroups(e.ctx(), &trackerpb.ListGroupsRequest{Group: group})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range resp.GetGroups() {
		for _, st := range g.GetStorages() {
			if st.GetBrief().GetKey() == key {
				return st.GetStatusName()
			}
		}
	}
	return "MISSING"
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

// fileID makes a normal file ID of group created at ts by the storage at ip.
func fileID(t *testing.T, group, ip string, ts int64, kind fileid.Kind) string {
	t.Helper()
	src, err := fileid.SourceFromIPv4(netip.MustParseAddr(ip))
	if err != nil {
		t.Fatal(err)
	}
	id, err := fileid.New(fileid.NewParams{Group: group, Source: src, Created: ts, Size: 10, Ext: "txt", Appender: kind == fileid.Appender})
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

// fileIDFromServer makes a normal file ID whose source is a storage id.
func fileIDFromServer(t *testing.T, group string, server uint32, ts int64) string {
	t.Helper()
	src, err := fileid.SourceFromServerID(server)
	if err != nil {
		t.Fatal(err)
	}
	id, err := fileid.New(fileid.NewParams{Group: group, Source: src, Created: ts, Size: 10, Ext: "txt"})
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}
