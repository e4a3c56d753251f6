// Package storage is a Depot storage node: it opens the store paths, serves the gRPC
// StorageService and the HTTP download module, and (later) reports to trackers.
//
// Lifecycle: New opens everything that can fail (store, config files, log files) without
// listening; Start binds the listeners, so a port accepts connections only once the node is
// ready to serve; Reload applies the settings that may change while it serves (reload.go);
// Shutdown (or Close) leaves the trackers, lets the requests in flight finish until a
// deadline, and releases the store (stop.go).
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/depotfs/depot/internal/admin"
	"github.com/depotfs/depot/internal/allowhosts"
	"github.com/depotfs/depot/internal/certs"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
	"github.com/depotfs/depot/internal/logfile"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/internal/trunk"
)

// Config is everything a node needs, already loaded and validated.
type Config struct {
	Storage conf.Storage
	// Mod is mod_fastdfs.conf; nil means the module's defaults for a single group.
	Mod    *conf.Mod
	Logger *slog.Logger
	// InterfaceAddrs lists the host's addresses (tests); nil = net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
	// Statfs replaces the disk space probe of the store paths (tests); nil = statfs(2).
	Statfs func(dir string) (total, free uint64, err error)
	// GRPCOptions are added to the gRPC server's options (tests: interceptors).
	GRPCOptions []grpc.ServerOption
	// CallbackBackoff is the first wait after a failed completion callback, doubling up to 60
	// times it (0 = 1 s; tests shorten it).
	CallbackBackoff time.Duration
	// Now is the clock of the access log's rotation and the statistics' days (tests); nil = time.Now.
	Now func() time.Time
	// AdminAnyPort serves the admin endpoints on a kernel-chosen port of bind_addr when
	// http.admin_port is 0 (tests; AdminAddr tells the port).
	AdminAnyPort bool
}

// Server is a running storage node.
type Server struct {
	cfg      Config
	log      *slog.Logger
	ident    Identity
	store    *disk.Store
	extra    []*disk.Store // other groups' store paths named in mod_fastdfs.conf
	handler  *httpd.Handler
	grpcSrv  *grpc.Server
	httpSrv  *fastsrv.Server
	logFile  *logfile.Writer // the access log; nil when off
	grpcLn   net.Listener
	httpLn   net.Listener
	closeMu  sync.Once
	closeErr error
	wg       sync.WaitGroup
	reporter *reporter    // nil without tracker_server (see tracker.go)
	repl     *replication // binlog, replica receiver and senders (see replica.go)
	svc      *storagesvc.Service
	admin    *admin.Server     // metrics, health endpoints, gRPC health (see admin.go)
	allow    *allowhosts.Guard // allow_hosts in force on the gRPC port (Reload swaps it)
	trunk    *trunk.Node       // trunk slots (use_trunk_file), see trunk.go
	native   *fdfsproto.Server
	nativeLn net.Listener
	mux      *fdfsproto.Mux // nil with a native_port of its own

	grpcCert  *certs.Pair                      // tls_cert_file, or nil (tls.go)
	httpCert  *certs.Pair                      // http.tls.cert_file, or nil
	dialCreds credentials.TransportCredentials // for trackers and peers: TLS or plaintext

	stopTimeout    atomic.Int64                    // stop_timeout as a time.Duration (Reload changes it)
	stalledStreams atomic.Int64                    // gRPC client streams ended by network_timeout
	ctl            controlled                      // download accounting and callback (controlled.go)
	statsStore     atomic.Pointer[meta.StatsStore] // for the rotated-log import (nil when off)
	importing      sync.Mutex                      // held by that import
}

// New opens the node's store and prepares its servers without listening.
func New(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sc := cfg.Storage
	// Without bind_addr, the address the trackers see is the node's address (tracker.go).
	ident, err := resolveIdentity(identityAddr(sc), sc.UseStorageID, sc.ServerID, cfg.InterfaceAddrs)
	if err != nil {
		return nil, fmt.Errorf("storage identity: %w", err)
	}
	allow, err := allowhosts.ParseAt(sc.AllowHosts, sc.AllowHostsAt, allowhosts.Lookup)
	if err != nil {
		return nil, err // before anything is made or opened: a bad line changes nothing
	}
	s := &Server{cfg: cfg, log: log, ident: ident, allow: allowhosts.NewGuard("storage", allow)}
	if err := s.loadTLS(); err != nil {
		return nil, err
	}
	s.stopTimeout.Store(int64(sc.StopTimeout))
	s.reporter = newReporter(s)

	paths := make([]disk.PathConfig, len(sc.StorePaths))
	for i, p := range sc.StorePaths {
		paths[i] = disk.PathConfig{Dir: p.Path, ReadOnly: p.ReadOnly}
	}
	dataDir := filepath.Join(sc.BasePath, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("base_path %q: %w", sc.BasePath, err)
	}
	s.store, err = disk.Open(disk.Options{
		Group:          sc.GroupName,
		Paths:          paths,
		SubdirCount:    sc.SubdirCountPerPath,
		DistributeMode: sc.FileDistributePathMode,
		RotateCount:    sc.FileDistributeRotateCount,
		StatFile:       filepath.Join(dataDir, "storage_stat.dat"),
		Reserved:       disk.Reserved{Percent: sc.ReservedStorageSpace.Percent, Bytes: sc.ReservedStorageSpace.Bytes},
		Source:         ident.Source,
		Statfs:         cfg.Statfs,
		Logger:         log.With("component", "disk"),
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}

	if s.repl, err = s.newReplication(); err != nil {
		s.store.Close()
		return nil, err
	}
	hcfg, logFile, err := s.httpConfig()
	if err != nil {
		s.closeReplication()
		s.store.Close()
		return nil, err
	}
	s.logFile = logFile
	if err := s.openControlled(&hcfg); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.handler, err = httpd.New(hcfg)
	if err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("http module: %w", err)
	}
	s.httpSrv = fastsrv.New(fastsrv.Config{
		Handler:           s.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		SendTimeout:       sc.NetworkTimeout,
		TLS:               s.httpTLS(),
		Logger:            log.With("component", "http"),
	})
	// allow_hosts first: a refused client reaches nothing else.
	opts := append(s.grpcServerOptions(), grpc.ChainUnaryInterceptor(s.allow.UnaryInterceptor()), grpc.ChainStreamInterceptor(s.allow.StreamInterceptor()))
	opts = append(append(opts, cfg.GRPCOptions...), s.replicaInterceptors()...)
	// A client stream silent for network_timeout ends (its partial file dropped).
	opts = append(opts, grpc.ChainStreamInterceptor(storagesvc.IdleRecv(sc.NetworkTimeout, func(method string) {
		s.log.Warn("grpc stream ended: no data from the client within network_timeout",
			"method", method, "network_timeout", sc.NetworkTimeout, "stalled_total", s.stalledStreams.Add(1))
	})))
	// The SDK pings a connection with calls in flight every 10 s to find a peer that went
	// off the network (client/keepalive.go); gRPC's default policy would close it for that.
	opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}))
	s.grpcSrv = grpc.NewServer(opts...)
	s.trunk, err = trunk.NewNode(trunk.NodeOptions{Store: s.store, StateDir: dataDir, Logger: log.With("component", "trunk")})
	if err != nil {
		s.closeFiles()
		return nil, err
	}
	s.trunk.Register(s.grpcSrv)
	s.svc = storagesvc.New(s.store, storagesvc.Options{Group: sc.GroupName, Logger: log.With("component", "grpc"), Journal: s.repl.journal,
		TokenFile: filepath.Join(dataDir, "upload_tokens.dat"), Trunk: s.trunk})
	s.svc.Register(s.grpcSrv)
	s.registerReplication()
	if err := s.newAdmin(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// Store returns the node's store (tests and embedding).
func (s *Server) Store() *disk.Store { return s.store }

// Identity returns who the node is.
func (s *Server) Identity() Identity { return s.ident }

// Start binds the gRPC and HTTP listeners on bind_addr and serves until Close.
func (s *Server) Start() error {
	sc := s.cfg.Storage
	host := sc.BindAddr
	var err error
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(sc.Port)))
	if err != nil {
		return fmt.Errorf("grpc listener (port %d): %w", sc.Port, err)
	}
	if s.grpcLn, err = s.listenNative(ln); err != nil {
		ln.Close()
		return err
	}
	s.httpLn, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(sc.HTTP.ServerPort)))
	if err != nil {
		s.closeGRPCAndNative()
		return fmt.Errorf("http listener (http.server_port %d): %w", sc.HTTP.ServerPort, err)
	}
	if err := s.startAdmin(); err != nil {
		s.closeGRPCAndNative()
		s.httpLn.Close()
		return err
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.grpcSrv.Serve(s.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.log.Error("grpc server stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	if err := s.startReporter(); err != nil {
		return err
	}
	s.startReplication()
	s.log.Info("storage node ready", "group", sc.GroupName, "grpc", s.grpcLn.Addr().String(),
		"http", s.httpLn.Addr().String(), "fdfs", s.nativeLn.Addr().String(), "admin", s.AdminAddr(), "source", s.ident.Addr.String(), "server_id", s.ident.ServerID)
	return nil
}

// GRPCAddr returns the gRPC listener's address (after Start).
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

// HTTPAddr returns the HTTP listener's address (after Start).
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Serve starts the node and blocks until ctx is done, then closes it.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Reopen closes and reopens the access log file at its configured path (http.access_log),
// between two whole lines: after logrotate moved it away (mv, then SIGUSR1), new lines go to
// a new file there. It does nothing when the access log is off.
func (s *Server) Reopen() error {
	if s.logFile == nil {
		return nil
	}
	if err := s.logFile.Reopen(); err != nil {
		return fmt.Errorf("reopen http.access_log %q: %w", s.cfg.Storage.HTTP.AccessLog, err)
	}
	return nil
}

func (s *Server) closeFiles() error {
	var errs []error
	if s.handler != nil {
		s.handler.Close()
	}
	errs = append(errs, s.closeControlled())
	if s.logFile != nil {
		errs = append(errs, s.logFile.Close())
	}
	for _, st := range s.extra {
		errs = append(errs, st.Close())
	}
	errs = append(errs, s.closeReplication())
	if s.trunk != nil {
		s.trunk.Close()
	}
	errs = append(errs, s.store.Close())
	return errors.Join(errs...)
}
