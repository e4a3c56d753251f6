package testcluster

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/tracker"
)

// Tracker is one tracker of a Cluster. Stop and Restart keep its address, ports and bbolt
// file, as a tracker process restarted on the same host would.
type Tracker struct {
	c     *Cluster
	Index int
	Host  string
	Addr  string // gRPC host:port, fixed at the first start
	dir   string

	mu                   sync.Mutex
	gossipPort, raftPort int
	srv                  *tracker.Server
	coord                *consensus.Coordinator
	db                   *meta.DB
	gs                   *grpc.Server
	mux                  *fdfsproto.Mux    // FastDFS's protocol beside gRPC on Addr
	native               *fdfsproto.Server // as in a tracker process
	cancel               context.CancelFunc
	done                 chan struct{}
}

// Conf returns the tracker.conf the tracker runs with.
func (tr *Tracker) Conf() conf.Tracker {
	tc := conf.DefaultTracker()
	tc.BindAddr = tr.Host
	tc.BasePath = tr.dir
	tc.CheckActiveInterval = CheckActiveInterval
	tc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	if tr.c.ids != nil {
		tc.UseStorageID, tc.StorageIDsFilename, tc.IDTypeInFilename = true, tr.c.idsFile, "id"
	}
	if f := tr.c.opts.Tracker; f != nil {
		f(tr.Index, &tc)
	}
	return tc
}

func (tr *Tracker) start() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tc := tr.Conf()
	port := 0
	if tr.Addr != "" {
		_, p, _ := net.SplitHostPort(tr.Addr)
		port, _ = strconv.Atoi(p)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(tr.Host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	tr.Addr = ln.Addr().String()
	tc.Port = ln.Addr().(*net.TCPAddr).Port
	dataDir := filepath.Join(tr.dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		ln.Close()
		return err
	}
	db, err := meta.Open(filepath.Join(dataDir, "depot-tracker.db"), meta.Options{Logger: tr.c.log})
	if err != nil {
		ln.Close()
		return err
	}
	log := tr.c.log.With("tracker", tr.Addr)
	srv, err := tracker.New(tracker.Config{
		Tracker: tc, StorageIDs: tr.c.ids, Meta: db, Addr: tr.Addr, CheckInterval: sweepInterval, Logger: log,
		NewCoordinator: func(a tracker.Applier) (tracker.Coordinator, error) {
			c, err := consensus.New(consensus.Config{
				NodeID: tr.Addr, BindAddr: tr.Host, GossipPort: tr.gossipPort, RaftPort: tr.raftPort,
				GRPCAddr: tr.Addr, DataDir: dataDir, Resolve: tracker.ResolveGossip, Applier: a,
				Logger: log.With("component", "consensus"), Timers: consensus.FastTimers(),
				Reachable: tr.c.reachable(tr.Host),
			})
			if err != nil {
				return nil, err
			}
			tr.coord = c
			return c, nil
		},
	})
	if err != nil {
		db.Close()
		ln.Close()
		return err
	}
	tr.gossipPort = portOf(tr.coord.GossipAddr())
	tr.raftPort = portOf(tr.coord.RaftAddr())
	if tr.c.opts.Seeds {
		srv.Coordinator().AddPeers(tr.c.TrackerAddrs())
	}
	gs := grpc.NewServer()
	srv.Register(gs)
	mux := fdfsproto.NewMux(ln, 5*time.Second, nil)
	native := fdfsproto.NewServer(srv, fdfsproto.Options{NetworkTimeout: 5 * time.Second})
	tr.mux, tr.native = mux, native
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = gs.Serve(mux.GRPC()) }()
	go func() { _ = native.Serve(mux.Native()) }()
	go func() { defer close(done); _ = srv.Run(ctx) }()
	tr.srv, tr.db, tr.gs, tr.cancel, tr.done = srv, db, gs, cancel, done
	return nil
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Stop stops the tracker abruptly (connections cut, no goodbye to its peers beyond what
// closing its listeners does). Safe to call when stopped.
func (tr *Tracker) Stop() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.srv == nil {
		return
	}
	tr.gs.Stop()
	tr.native.Close()
	tr.mux.Close()
	tr.cancel()
	<-tr.done
	tr.srv.Close()
	tr.db.Close()
	tr.srv, tr.coord, tr.db, tr.gs = nil, nil, nil, nil
}

// Restart starts a stopped tracker again on the same address with the same bbolt file.
func (tr *Tracker) Restart() {
	tr.c.t.Helper()
	if err := tr.start(); err != nil {
		tr.c.t.Fatalf("testcluster: restart tracker %s: %v", tr.Addr, err)
	}
}

// Running reports whether the tracker is started.
func (tr *Tracker) Running() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.srv != nil
}

// IsLeader reports whether the running tracker considers itself the leader.
func (tr *Tracker) IsLeader() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.srv != nil && tr.srv.Coordinator().IsLeader()
}

// Server returns the running tracker's server (nil when stopped).
func (tr *Tracker) Server() *tracker.Server {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.srv
}

// Peers returns the trackers this tracker's coordinator knows.
func (tr *Tracker) Peers() []tracker.Peer {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.srv == nil {
		return nil
	}
	return tr.srv.Coordinator().Peers()
}
