package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/depotfs/depot/internal/admin"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

var _ Coordinator = (*consensus.Coordinator)(nil)

// MetaFile is the tracker's bbolt file below base_path/data.
const MetaFile = "depot-tracker.db"

// NodeConfig is what a tracker process runs from.
type NodeConfig struct {
	Tracker    conf.Tracker
	StorageIDs *conf.StorageIDs // with use_storage_id
	// Single runs the tracker as its own leader, with no gossip or Raft ports (the tracker
	// embedded in "storage -dev").
	Single bool
	Logger *slog.Logger
	// AdminAnyPort serves the admin endpoints on a kernel-chosen port of bind_addr when
	// http.admin_port is 0 (tests; AdminAddr tells the port).
	AdminAnyPort bool
}

// Node is a running tracker: its bbolt file, its coordinator, the gRPC listener on
// bind_addr:port, the OFFLINE sweeper, and its admin endpoints and gRPC health (admin.go).
type Node struct {
	srv    *Server
	db     *meta.DB
	lis    net.Listener
	gs     *grpc.Server
	admin  *admin.Server
	allow  atomic.Pointer[AllowList] // allow_hosts in force (Reload swaps it)
	wait   time.Duration
	cancel context.CancelFunc
	served chan error
	ran    chan error
}

// StartNode opens the tracker's state, binds its listeners and serves until Close.
func StartNode(cfg NodeConfig) (*Node, error) {
	tc := cfg.Tracker
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allow, err := parseAllowHostsAt(tc.AllowHosts, tc.AllowHostsAt, lookupHost)
	if err != nil {
		return nil, err // before anything is made or opened: a bad line changes nothing
	}
	dataDir := filepath.Join(tc.BasePath, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("tracker data folder: %w", err)
	}
	db, err := meta.Open(filepath.Join(dataDir, MetaFile), meta.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(tc.BindAddr, strconv.Itoa(tc.Port)))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("tracker listener (port %d): %w", tc.Port, err)
	}
	host := advertiseHost(tc.BindAddr)
	grpcAddr := net.JoinHostPort(host, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port))
	c := Config{Tracker: tc, StorageIDs: cfg.StorageIDs, Meta: db, Addr: grpcAddr, Logger: log}
	if !cfg.Single {
		c.NewCoordinator = func(a Applier) (Coordinator, error) {
			return newConsensus(tc, host, grpcAddr, dataDir, a, log)
		}
	}
	fail := func(err error) (*Node, error) { lis.Close(); db.Close(); return nil, err }
	srv, err := New(c)
	if err != nil {
		return fail(err)
	}
	srv.Coordinator().AddPeers(tc.ClusterSeeds)
	n := &Node{srv: srv, db: db, lis: lis, wait: min(tc.NetworkTimeout, 5*time.Second),
		served: make(chan error, 1), ran: make(chan error, 1)}
	n.allow.Store(allow)
	// The SDK pings a connection with calls in flight every 10 s to find a tracker that went
	// off the network (client/keepalive.go); gRPC's default policy would close it for that.
	n.gs = grpc.NewServer(grpc.ConnectionTimeout(tc.ConnectTimeout), grpc.UnaryInterceptor(n.allowed),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}))
	srv.Register(n.gs)
	adminLn, err := newAdmin(cfg, srv, n, log)
	if err != nil {
		srv.Close()
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.served <- n.gs.Serve(lis) }()
	go func() { n.ran <- srv.Run(ctx) }()
	n.admin.Start(adminLn)
	info, _ := srv.TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
	log.Info("tracker ready", "grpc", lis.Addr().String(), "advertised", grpcAddr,
		"gossip", info.GetGossipAddr(), "raft", info.GetRaftAddr(), "admin", n.AdminAddr(), "data", dataDir)
	return n, nil
}

// allowed applies the allow_hosts in force to a call.
func (n *Node) allowed(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if err := n.allow.Load().admit(ctx); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

// LiveKey reports whether a change of the tracker.conf key (as conf.Values names it) takes
// effect without a restart: allow_hosts through Reload, log_level through the command's
// logger.
func LiveKey(key string) bool { return key == "allow_hosts" || key == "log_level" }

// Reload puts tc's allow_hosts in force for the calls that start from now on. A value that
// does not parse or a host name that does not resolve is an error naming its file:line, and
// the list in force stays. Other values of tc need a restart and are ignored.
func (n *Node) Reload(tc conf.Tracker) error {
	allow, err := parseAllowHostsAt(tc.AllowHosts, tc.AllowHostsAt, lookupHost)
	if err != nil {
		return err
	}
	n.allow.Store(allow)
	return nil
}

// Server returns the node's TrackerService implementation.
func (n *Node) Server() *Server { return n.srv }

// Addr returns the gRPC listener's address.
func (n *Node) Addr() string { return n.lis.Addr().String() }

// Done is closed with the first error that stops the node's gRPC server or sweeper.
func (n *Node) Done() <-chan error { return n.served }

// Close lets running calls finish (at most network_timeout, 5 s), stops the sweeper and
// the coordinator, and closes the bbolt file.
func (n *Node) Close() error {
	adminErr := n.admin.Close() // NOT_SERVING first: balancers stop sending work
	stopped := make(chan struct{})
	go func() { n.gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(n.wait):
		n.gs.Stop()
	}
	n.cancel()
	err := <-n.ran
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return errors.Join(adminErr, err, n.srv.Close(), n.db.Close())
}

// newConsensus starts the gossip and Raft coordinator on bind_addr: gossip_port and raft_port
// default to port+1 and port+2 (kernel-chosen with port = 0, which tests use).
func newConsensus(tc conf.Tracker, host, grpcAddr, dataDir string, a Applier, log *slog.Logger) (Coordinator, error) {
	gossip, raftPort := tc.GossipPort, tc.RaftPort
	if gossip == 0 && tc.Port != 0 {
		gossip = tc.Port + 1
	}
	if raftPort == 0 && tc.Port != 0 {
		raftPort = tc.Port + 2
	}
	c, err := consensus.New(consensus.Config{
		NodeID: grpcAddr, BindAddr: host, GossipPort: gossip, RaftPort: raftPort,
		GRPCAddr: grpcAddr, DataDir: dataDir, Expect: tc.ClusterExpect,
		Resolve: ResolveGossip, Applier: a, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ResolveGossip asks the tracker at grpcAddr for its gossip address.
func ResolveGossip(ctx context.Context, grpcAddr string) (string, error) {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := trackerpb.NewTrackerServiceClient(conn).TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
	if err != nil {
		return "", err
	}
	return info.GetGossipAddr(), nil
}

// lookupHost resolves an allow_hosts name within 5 s.
func lookupHost(host string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupHost(ctx, host)
}

// advertiseHost is the address other trackers and storages reach this tracker at:
// bind_addr, or with none the host's outbound IPv4 address (127.0.0.1 when it has no route).
func advertiseHost(bind string) string {
	if bind != "" && bind != "0.0.0.0" {
		return bind
	}
	c, err := net.Dial("udp4", "192.0.2.1:9") // no packet is sent: this only picks a route
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}

// parseAllowHostsAt is ParseAllowHosts whose error names the file:line (at[i], when known) of
// the first value that fails.
func parseAllowHostsAt(values, at []string, lookup func(string) ([]string, error)) (*AllowList, error) {
	allow, err := ParseAllowHosts(values, lookup)
	if err == nil {
		return allow, nil
	}
	for i, v := range values {
		if _, verr := ParseAllowHosts([]string{v}, lookup); verr != nil && i < len(at) {
			return nil, fmt.Errorf("%s: %w", at[i], verr)
		}
	}
	return nil, err
}
