package storage

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/replica"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/proto/replicapb"
	"github.com/depotfs/depot/proto/trackerpb"
)

// replication is the node's binlog, its receiver of other members' changes and its
// senders to them (started with trackers only: the group comes from them).
type replication struct {
	bl      *binlog.Writer
	recv    *replica.Receiver
	mgr     *replica.Manager
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	journal storagesvc.Journal

	opened       binlog.Position // the binlog's end when the node started
	trackerAddrs []string
	creds        credentials.TransportCredentials // for trackerClients (the node's dialCreds)
	trMu         sync.Mutex
	trConns      []*grpc.ClientConn
	trackers     []trackerpb.TrackerServiceClient
}

// membersPoll is how often the senders are matched to the group's membership.
const membersPoll = 200 * time.Millisecond

// newReplication opens the binlog in base_path/data/sync and the receiver.
func (s *Server) newReplication() (*replication, error) {
	dir := filepath.Join(s.cfg.Storage.BasePath, "data", "sync")
	bl, err := binlog.OpenWriter(binlog.Options{Dir: dir, Logger: s.log.With("component", "binlog")})
	if err != nil {
		return nil, fmt.Errorf("binlog: %w", err)
	}
	recv, err := replica.NewReceiver(s.store, s.cfg.Storage.GroupName, bl, s.log.With("component", "replica"))
	if err != nil {
		bl.Close()
		return nil, fmt.Errorf("binlog %s: %w", dir, err)
	}
	return &replication{bl: bl, recv: recv, journal: &replica.Journal{W: bl}, opened: bl.End(), trackerAddrs: s.cfg.Storage.TrackerServers,
		creds: s.dialCreds}, nil
}

// registerReplication serves the ReplicaService on the node's gRPC server.
func (s *Server) registerReplication() {
	if s.repl != nil {
		replicapb.RegisterReplicaServiceServer(s.grpcSrv, s.repl.recv)
	}
}

// startReplication starts the senders; they follow the group's membership as the
// trackers report it (nothing to do standalone).
func (s *Server) startReplication() {
	r := s.repl
	if r == nil || s.reporter == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	sc := s.cfg.Storage
	r.mgr = replica.NewManager(ctx, replica.Options{
		Group: sc.GroupName, Store: s.store, Log: r.bl,
		Concurrency: min(sc.SyncMaxThreads, 16), // 0 (auto): replica.DefaultConcurrency
		Logger:      s.log.With("component", "replica"),
	}, s.replicaDial)
	r.wg.Go(func() {
		t := time.NewTicker(membersPoll)
		defer t.Stop()
		for {
			r.mgr.Update(s.selfKey(), toMembers(s.Members()))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// stopReplication stops the senders (Close calls it before the store closes).
func (s *Server) stopReplication() {
	r := s.repl
	if r == nil || r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.mgr.Wait()
}

// closeReplication closes the binlog (after the gRPC server stopped).
func (s *Server) closeReplication() error {
	if s.repl == nil {
		return nil
	}
	s.repl.trMu.Lock()
	for _, c := range s.repl.trConns {
		c.Close()
	}
	s.repl.trConns, s.repl.trackers = nil, []trackerpb.TrackerServiceClient{}
	s.repl.trMu.Unlock()
	return s.repl.bl.Close()
}

// hasChanges reports whether the binlog recorded anything since the node started: a file
// was uploaded or replicated here, so the node has files to give to a new member. Records
// from before the start do not count: the store path may have been replaced since.
func (s *Server) hasChanges() bool {
	if s.repl == nil {
		return false
	}
	return s.repl.bl.End() != s.repl.opened
}

// selfKey is the key the trackers know this node by ("" before the first join).
func (s *Server) selfKey() string {
	for _, k := range s.TrackerKeys() {
		if k != "" {
			return k
		}
	}
	return ""
}

func toMembers(in []*trackerpb.StorageBrief) []replica.Member {
	out := make([]replica.Member, 0, len(in))
	for _, b := range in {
		st := b.GetStatus()
		out = append(out, replica.Member{
			Key:  b.GetKey(),
			Addr: net.JoinHostPort(b.GetAddr(), strconv.Itoa(int(b.GetPort()))),
			Up: st == trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE || st == trackerpb.StorageStatus_STORAGE_STATUS_ONLINE ||
				st == trackerpb.StorageStatus_STORAGE_STATUS_WAIT_SYNC || st == trackerpb.StorageStatus_STORAGE_STATUS_SYNCING,
			Deleted:    st == trackerpb.StorageStatus_STORAGE_STATUS_DELETED,
			WaitSync:   st == trackerpb.StorageStatus_STORAGE_STATUS_WAIT_SYNC || st == trackerpb.StorageStatus_STORAGE_STATUS_SYNCING,
			SyncSource: b.GetSyncSourceKey(),
			SyncUntil:  b.GetSyncUntilTs(),
		})
	}
	return out
}

// syncProgress is the per-peer progress the heartbeat reports.
func (s *Server) syncProgress() []*trackerpb.SyncProgress {
	if s.repl == nil {
		return nil
	}
	var out []*trackerpb.SyncProgress
	for _, p := range s.repl.recv.Reports() {
		out = append(out, &trackerpb.SyncProgress{
			PeerKey: p.Peer, LastSyncedTs: p.SyncedTS, LagFiles: p.LagFiles, LagBytes: p.LagBytes,
			InitialCopyDone: p.InitialCopyDone,
		})
	}
	return out
}

// Replication returns the node's replica manager (nil standalone or before Start).
func (s *Server) Replication() *replica.Manager {
	if s.repl == nil {
		return nil
	}
	return s.repl.mgr
}

// fetchURL is the HTTP module's SourceURL: where a miss is redirected or proxied. The
// file's source when the trackers report it ACTIVE; else any other storage of the group a
// tracker names as having the file (QueryFetch with all); else the source as sourceURL
// finds it.
func (s *Server) fetchURL(id fileid.ID) (string, bool) {
	if u, ok := s.activeSourceURL(id); ok {
		return u, true
	}
	if u, ok := s.askTrackers(id); ok {
		return u, true
	}
	return s.sourceURL(id)
}

// activeSourceURL is the advertised URL of the file's source if it is an ACTIVE member.
func (s *Server) activeSourceURL(id fileid.ID) (string, bool) {
	addr := id.SourceIPv4().String()
	sid, isID := id.ServerID()
	for _, m := range s.Members() {
		match := m.GetAddr() == addr || isID && m.GetId() == strconv.FormatUint(uint64(sid), 10)
		if match && m.GetStatus() == trackerpb.StorageStatus_STORAGE_STATUS_ACTIVE && m.GetHttpUrl() != "" {
			return m.GetHttpUrl(), true
		}
	}
	return "", false
}

// askTrackers asks the trackers, in turn, which storages may serve id and returns the
// first other than this node.
func (s *Server) askTrackers(id fileid.ID) (string, bool) {
	r := s.repl
	if r == nil {
		return "", false
	}
	self := s.selfKey()
	for _, cl := range r.trackerClients() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		resp, err := cl.QueryFetch(ctx, &trackerpb.QueryFileRequest{FileId: id.String(), All: true})
		cancel()
		if err != nil {
			continue
		}
		for _, b := range resp.GetStorages() {
			if b.GetKey() != self && b.GetHttpUrl() != "" {
				return b.GetHttpUrl(), true
			}
		}
		return "", false
	}
	return "", false
}

// trackerClients returns clients of every tracker_server (dialled once, lazily).
func (r *replication) trackerClients() []trackerpb.TrackerServiceClient {
	r.trMu.Lock()
	defer r.trMu.Unlock()
	if r.trackers == nil {
		for _, a := range r.trackerAddrs {
			c, err := grpc.NewClient(a, grpc.WithTransportCredentials(r.creds))
			if err != nil {
				continue
			}
			r.trConns = append(r.trConns, c)
			r.trackers = append(r.trackers, trackerpb.NewTrackerServiceClient(c))
		}
	}
	return r.trackers
}

// replicaDial connects to a member for replication from bind_addr (with client_bind), as the
// tracker connections do, so the member sees the call come from this node's listed address.
func (s *Server) replicaDial(addr string) (grpc.ClientConnInterface, func() error, error) {
	sc := s.cfg.Storage
	c, err := grpc.NewClient(addr, dialOptions(s.dialCreds, sc.BindAddr, sc.ClientBind, 5*time.Second)...)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}
