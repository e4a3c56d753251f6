package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

// Version is what the node reports to trackers as its version.
const Version = "depot"

// reporter keeps the node joined to every tracker_server: one goroutine per tracker joins,
// heartbeats every heart_beat_interval with the disk usage of each store path, and rejoins
// with a capped backoff when the tracker is unreachable or has forgotten the node.
type reporter struct {
	s        *Server
	trackers []string
	interval time.Duration
	timeout  time.Duration
	start    time.Time
	members  groupMembers

	cancel context.CancelFunc // stops the loops: no join or heartbeat starts after it
	// calls is the context of the joins and heartbeats; cutCalls ends the ones in flight.
	// Stopping lets them finish first, so that no heartbeat reaches a tracker after the
	// Leave (which it would take as the node being back).
	calls    context.Context
	cutCalls context.CancelFunc
	wg       sync.WaitGroup
	conns    []*grpc.ClientConn
	clients  []trackerpb.TrackerServiceClient // clients[i] talks to trackers[i]

	mu      sync.Mutex
	joined  map[string]string // tracker address → storage key it answered
	lastErr map[string]error  // tracker address → why the last join or heartbeat failed
	params  map[string]string // parameters from the last Join answer
	hasFile bool
	checked time.Time
}

// newReporter prepares reporting to the configured trackers; nil when there are none
// (a standalone node).
func newReporter(s *Server) *reporter {
	sc := s.cfg.Storage
	if len(sc.TrackerServers) == 0 {
		return nil
	}
	r := &reporter{
		s: s, trackers: sc.TrackerServers, interval: sc.HeartBeatInterval, timeout: sc.NetworkTimeout,
		start: time.Now(), joined: map[string]string{}, lastErr: map[string]error{},
	}
	if r.interval <= 0 {
		r.interval = 30 * time.Second
	}
	if r.timeout <= 0 || r.timeout > 10*time.Second {
		r.timeout = 10 * time.Second
	}
	return r
}

// startReporter starts one reporting goroutine per tracker (none: standalone, no-op).
func (s *Server) startReporter() error {
	r := s.reporter
	if r == nil {
		return nil
	}
	sc := s.cfg.Storage
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.calls, r.cutCalls = context.WithCancel(context.Background())
	for _, addr := range r.trackers {
		conn, err := grpc.NewClient(addr, dialOptions(s.dialCreds, sc.BindAddr, sc.ClientBind, r.backoffCap())...)
		if err != nil {
			return fmt.Errorf("tracker_server %q: %w", addr, err)
		}
		cl := trackerpb.NewTrackerServiceClient(conn)
		r.conns, r.clients = append(r.conns, conn), append(r.clients, cl)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.run(ctx, addr, cl)
		}()
	}
	return nil
}

// stopReporter stops the reporting goroutines, tells the trackers that know the node that
// it is leaving (stop.go; until ctx is done) and closes their connections. A join or
// heartbeat in flight may finish first, for up to leaveTimeout, unless ctx is cancelled (a
// second signal): it would otherwise reach its tracker after the Leave.
func (s *Server) stopReporter(ctx context.Context) {
	r := s.reporter
	if r == nil || r.cancel == nil {
		return
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	canceled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.Canceled {
			close(canceled)
		}
	})
	t := time.NewTimer(leaveTimeout)
	select {
	case <-done:
	case <-t.C:
	case <-canceled:
	}
	t.Stop()
	stop()
	r.cutCalls()
	<-done
	r.leave(ctx)
	r.closeConns()
}

func (r *reporter) closeConns() {
	for _, c := range r.conns {
		c.Close()
	}
}

// backoffCap is the longest wait between two attempts to reach a tracker.
func (r *reporter) backoffCap() time.Duration {
	return min(max(r.interval, 500*time.Millisecond), 5*time.Second)
}

// dialOptions returns the gRPC options for a connection to a tracker: creds (TLS when the
// node serves TLS, else plaintext; tls.go), a connect backoff capped at maxDelay, and with bindAddr set (client_bind) a dialer whose local
// address is bindAddr, so the tracker sees the connection come from the node's own address.
func dialOptions(creds credentials.TransportCredentials, bindAddr string, clientBind bool, maxDelay time.Duration) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: maxDelay},
			MinConnectTimeout: 2 * time.Second,
		}),
	}
	if ip := net.ParseIP(bindAddr); clientBind && ip != nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}))
	}
	return opts
}

// run keeps the node joined to one tracker until ctx ends.
func (r *reporter) run(ctx context.Context, addr string, cl trackerpb.TrackerServiceClient) {
	log := r.s.log.With("tracker", addr)
	wait := r.backoffCap() / 8
	var key string
	for ctx.Err() == nil {
		if key == "" {
			var err error
			if key, err = r.join(r.calls, cl); err != nil {
				if ctx.Err() == nil {
					log.Warn("joining tracker failed", "err", err, "retry_in", wait)
					r.setFailed(addr, fmt.Errorf("join: %w", err))
				}
				if !sleep(ctx, wait) {
					return
				}
				wait = min(2*wait, r.backoffCap())
				continue
			}
			log.Info("joined tracker", "storage_key", key)
			r.setJoined(addr, key)
			wait = r.backoffCap() / 8
			if ctx.Err() != nil {
				return
			}
		}
		err := r.heartbeat(r.calls, cl, key)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return
		case status.Code(err) == codes.NotFound:
			log.Info("tracker does not know this storage: joining again", "err", err)
			key = ""
			r.setJoined(addr, "")
			continue
		default:
			log.Warn("heartbeat failed", "err", err)
			key = ""
			r.setJoined(addr, "")
			r.setFailed(addr, fmt.Errorf("heartbeat: %w", err))
			continue
		}
		if !sleep(ctx, r.interval) {
			return
		}
	}
}

func (r *reporter) setJoined(addr, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if key == "" {
		delete(r.joined, addr)
	} else {
		r.joined[addr] = key
	}
}

// setFailed records why the last join or heartbeat to the tracker at addr failed.
func (r *reporter) setFailed(addr string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr[addr] = err
}

// join sends Join and records what the tracker answered.
func (r *reporter) join(ctx context.Context, cl trackerpb.TrackerServiceClient) (string, error) {
	sc := r.s.cfg.Storage
	req := &trackerpb.JoinRequest{
		Group:          sc.GroupName,
		Addr:           sc.BindAddr,
		Port:           int32(r.s.grpcPort()),
		NativePort:     int32(r.s.nativePort()),
		HttpUrl:        r.s.advertisedURL(),
		StorePathCount: int32(len(sc.StorePaths)),
		SubdirCount:    int32(sc.SubdirCountPerPath),
		UploadPriority: int32(sc.UploadPriority),
		JoinTime:       r.start.Unix(),
		UpTime:         r.start.Unix(),
		Version:        Version,
		TrackerServers: r.trackers,
		HasFiles:       r.hasFiles(),
	}
	if sc.UseStorageID {
		req.StorageId = sc.ServerID
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := cl.Join(cctx, req)
	if err != nil {
		return "", err
	}
	if resp.GetStorageKey() == "" {
		return "", errors.New("join answer without a storage key")
	}
	if sc.BindAddr == "" {
		if a, err := netip.ParseAddr(resp.GetYourAddr()); err == nil && a.Unmap() != r.s.ident.Addr {
			r.s.log.Warn("the tracker sees this storage at another address than its identity: set bind_addr",
				"your_addr", resp.GetYourAddr(), "identity", r.s.ident.Addr.String())
		}
	}
	r.members.set(resp.GetMembers())
	if ps := resp.GetParameters(); len(ps) > 0 {
		m := make(map[string]string, len(ps))
		for _, p := range ps {
			m[p.GetKey()] = p.GetValue()
		}
		r.mu.Lock()
		r.params = m
		r.mu.Unlock()
		r.s.trunk.SetParams(m)
	}
	r.s.setTrunkServer(resp.GetStorageKey(), resp.GetTrunkServerKey(), resp.GetTrunkEpoch(), resp.GetMembers())
	return resp.GetStorageKey(), nil
}

// heartbeat sends one Heartbeat with the disk usage of every store path.
func (r *reporter) heartbeat(ctx context.Context, cl trackerpb.TrackerServiceClient, key string) error {
	req := &trackerpb.HeartbeatRequest{
		Group: r.s.cfg.Storage.GroupName, StorageKey: key, TrackerServers: r.trackers, HasFiles: r.hasFiles(),
		Sync: r.s.syncProgress(),
	}
	usage, err := r.s.store.Usage()
	if err != nil {
		r.s.log.Warn("disk usage for the heartbeat", "err", err)
	}
	for i, u := range usage {
		req.Disk = append(req.Disk, &trackerpb.DiskUsage{PathIndex: int32(i), TotalBytes: u.Total, FreeBytes: u.Free})
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := cl.Heartbeat(cctx, req)
	if err != nil {
		return err
	}
	r.members.set(resp.GetMembers())
	r.s.setTrunkServer(key, resp.GetTrunkServerKey(), resp.GetTrunkEpoch(), resp.GetMembers())
	return nil
}

// grpcPort is the gRPC listener's port (the configured port before Start).
func (s *Server) grpcPort() int {
	if s.grpcLn != nil {
		return s.grpcLn.Addr().(*net.TCPAddr).Port
	}
	return s.cfg.Storage.Port
}

// advertisedURL is the base URL peers and clients use for this node's HTTP module:
// http.advertise_url, else http://<address>:<http port>.
func (s *Server) advertisedURL() string {
	if u := s.cfg.Storage.HTTP.AdvertiseURL; u != "" {
		return u
	}
	port := s.cfg.Storage.HTTP.ServerPort
	if s.httpLn != nil {
		port = s.httpLn.Addr().(*net.TCPAddr).Port
	}
	return s.httpScheme() + net.JoinHostPort(s.ident.Addr.String(), strconv.Itoa(port))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
