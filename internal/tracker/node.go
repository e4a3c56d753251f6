package tracker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/depotfs/depot/internal/admin"
	"github.com/depotfs/depot/internal/allowhosts"
	"github.com/depotfs/depot/internal/certs"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/fdfsproto"
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
	srv      *Server
	cert     *certs.Pair // tls_cert_file, or nil
	db       *meta.DB
	lis      net.Listener
	gs       *grpc.Server
	native   *fdfsproto.Server // FastDFS's protocol (native_node.go)
	nativeLn net.Listener
	mux      *fdfsproto.Mux // nil with a native_port of its own
	admin    *admin.Server
	allow    *allowhosts.Guard // allow_hosts in force (Reload swaps it)
	wait     time.Duration
	cancel   context.CancelFunc
	served   chan error
	ran      chan error
}

// StartNode opens the tracker's state, binds its listeners and serves until Close.
func StartNode(cfg NodeConfig) (*Node, error) {
	tc := cfg.Tracker
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allow, err := allowhosts.ParseAt(tc.AllowHosts, tc.AllowHostsAt, allowhosts.Lookup)
	if err != nil {
		return nil, err // before anything is made or opened: a bad line changes nothing
	}
	cert, creds, err := loadTLS(tc.TLS)
	if err != nil {
		return nil, err
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
	c := Config{Tracker: tc, StorageIDs: cfg.StorageIDs, Meta: db, Addr: grpcAddr, DialCreds: creds, Logger: log}
	if !cfg.Single {
		c.NewCoordinator = func(a Applier) (Coordinator, error) {
			return newConsensus(tc, host, grpcAddr, dataDir, a, creds, log)
		}
	}
	fail := func(err error) (*Node, error) { lis.Close(); db.Close(); return nil, err }
	srv, err := New(c)
	if err != nil {
		return fail(err)
	}
	srv.Coordinator().AddPeers(tc.ClusterSeeds)
	n := &Node{srv: srv, cert: cert, db: db, lis: lis, wait: tc.StopTimeout,
		served: make(chan error, 1), ran: make(chan error, 1)}
	n.allow = allowhosts.NewGuard("tracker", allow)
	cfg.Logger = log
	grpcLn, err := n.listenNative(lis, cfg)
	if err != nil {
		srv.Close()
		return fail(err)
	}
	// The SDK pings a connection with calls in flight every 10 s to find a tracker that went
	// off the network (client/keepalive.go); gRPC's default policy would close it for that.
	opts := []grpc.ServerOption{grpc.ConnectionTimeout(tc.ConnectTimeout), grpc.UnaryInterceptor(n.allow.UnaryInterceptor()),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true})}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cert.ServerConfig("h2"))))
	}
	n.gs = grpc.NewServer(opts...)
	srv.Register(n.gs)
	adminLn, err := newAdmin(cfg, srv, n, log)
	if err != nil {
		n.closeNative()
		srv.Close()
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() { n.served <- n.gs.Serve(grpcLn) }()
	go func() { n.ran <- srv.Run(ctx) }()
	n.admin.Start(adminLn)
	info, _ := srv.TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
	log.Info("tracker ready", "grpc", lis.Addr().String(), "fdfs", n.NativeAddr(), "advertised", grpcAddr,
		"gossip", info.GetGossipAddr(), "raft", info.GetRaftAddr(), "admin", n.AdminAddr(), "data", dataDir)
	return n, nil
}

// LiveKey reports whether a change of the tracker.conf key (as conf.Values names it) takes
// effect without a restart: allow_hosts and the TLS certificate through Reload, log_level
// through the command's logger.
func LiveKey(key string) bool {
	switch key {
	case "allow_hosts", "log_level", "tls_cert_file", "tls_key_file":
		return true
	}
	return false
}

// Reload puts tc's allow_hosts in force for the calls that start from now on, and rereads
// the TLS certificate files for the handshakes that start from now on. A value that does not
// parse, a host name that does not resolve or a certificate that does not load is an error
// (naming its file:line or file), and the settings in force stay. Other values of tc need a
// restart and are ignored.
func (n *Node) Reload(tc conf.Tracker) error {
	allow, err := allowhosts.ParseAt(tc.AllowHosts, tc.AllowHostsAt, allowhosts.Lookup)
	if err != nil {
		return err
	}
	var cert *tls.Certificate
	if (n.cert != nil) != tc.TLS.Enabled() {
		return fmt.Errorf("tls_cert_file: turning TLS on or off needs a restart")
	}
	if n.cert != nil {
		if cert, err = certs.Read(tc.TLS.CertFile, tc.TLS.KeyFile); err != nil {
			return fmt.Errorf("tls_cert_file: %w", err)
		}
		n.cert.Use(cert)
	}
	n.allow.Set(allow)
	return nil
}

// loadTLS reads tls_cert_file (nil: no TLS) and makes the credentials of the tracker's calls
// to other trackers: TLS trusting tls_ca_file when the tracker serves TLS, else plaintext.
func loadTLS(t conf.TLS) (*certs.Pair, credentials.TransportCredentials, error) {
	if !t.Enabled() {
		return nil, insecure.NewCredentials(), nil
	}
	pair, err := certs.LoadPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls_cert_file: %w", err)
	}
	cc, err := certs.ClientConfig(t.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls_ca_file: %w", err)
	}
	return pair, credentials.NewTLS(cc), nil
}

// Server returns the node's TrackerService implementation.
func (n *Node) Server() *Server { return n.srv }

// Addr returns the gRPC listener's address.
func (n *Node) Addr() string { return n.lis.Addr().String() }

// Done is closed with the first error that stops the node's gRPC server or sweeper.
func (n *Node) Done() <-chan error { return n.served }

// Close stops the node as Shutdown does, with stop_timeout as the wait for the calls in flight.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.wait)
	defer cancel()
	return n.Shutdown(ctx)
}

// StopTimeout is stop_timeout: the wait Close gives the calls in flight.
func (n *Node) StopTimeout() time.Duration { return n.wait }

// Shutdown stops accepting calls and lets the running ones finish until ctx ends (then their
// connections are closed), stops the sweeper, leaves the tracker cluster (a leader hands
// leadership over first) and closes the bbolt file.
func (n *Node) Shutdown(ctx context.Context) error {
	adminErr := n.admin.Close() // NOT_SERVING first: balancers stop sending work
	stopped := make(chan struct{})
	go func() { n.gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-ctx.Done():
		n.gs.Stop()
		<-stopped
	}
	n.closeNative()
	n.cancel()
	err := <-n.ran
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return errors.Join(adminErr, err, n.srv.Close(), n.db.Close())
}

// newConsensus starts the gossip and Raft coordinator on bind_addr: gossip_port and raft_port
// default to port+1 and port+2 (kernel-chosen with port = 0, which tests use).
func newConsensus(tc conf.Tracker, host, grpcAddr, dataDir string, a Applier, creds credentials.TransportCredentials, log *slog.Logger) (Coordinator, error) {
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
		Resolve: GossipResolver(creds), Applier: a, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ResolveGossip asks the tracker at grpcAddr for its gossip address, over plaintext gRPC.
func ResolveGossip(ctx context.Context, grpcAddr string) (string, error) {
	return resolveGossip(ctx, insecure.NewCredentials(), grpcAddr)
}

// GossipResolver is ResolveGossip with creds (TLS between trackers that serve it).
func GossipResolver(creds credentials.TransportCredentials) func(ctx context.Context, grpcAddr string) (string, error) {
	return func(ctx context.Context, grpcAddr string) (string, error) { return resolveGossip(ctx, creds, grpcAddr) }
}

func resolveGossip(ctx context.Context, creds credentials.TransportCredentials, grpcAddr string) (string, error) {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(creds))
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
