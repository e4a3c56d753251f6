package tracker

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/depotfs/depot/internal/admin"
	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/metrics"
)

// Ready is the tracker's readiness: a leader is known (a lone tracker is its own; in a
// cluster, Raft has elected one this tracker knows), so that decisions can be taken.
func (s *Server) Ready() error {
	if addr, ok := s.coord.LeaderAddr(); ok && addr != "" {
		return nil
	}
	alive, peers := 0, s.coord.Peers()
	for _, p := range peers {
		if p.Alive {
			alive++
		}
	}
	return fmt.Errorf("no tracker leader known: Raft has not elected one (%d of %d known trackers alive)", alive, len(peers))
}

// storageStatus is one storage as the tracker sees it, for the metrics.
type storageStatus struct {
	group, key    string
	status        meta.Status
	lastHeartbeat int64 // Unix seconds, 0 = never
}

// storageStatuses returns every storage the tracker knows, deleted ones included.
func (s *Server) storageStatuses() []storageStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storageStatus
	for _, g := range s.groups {
		for _, st := range g.storages {
			ss := storageStatus{group: st.Group, key: st.Key, status: st.Status}
			if !st.LastHeartbeat.IsZero() {
				ss.lastHeartbeat = st.LastHeartbeat.Unix()
			}
			out = append(out, ss)
		}
	}
	return out
}

// allStatuses are the states depot_tracker_storage_state has a sample for, per storage.
var allStatuses = []meta.Status{
	meta.StatusInit, meta.StatusWaitSync, meta.StatusSyncing, meta.StatusIPChanged, meta.StatusDeleted,
	meta.StatusOffline, meta.StatusOnline, meta.StatusActive, meta.StatusRecovery,
}

// trackerMetrics is the tracker's metrics.Collector (docs/operations.md).
type trackerMetrics struct {
	s                                              *Server
	state, beat, leader, leaderKnown, known, alive *metrics.Desc
}

func newTrackerMetrics(s *Server) *trackerMetrics {
	g, d := metrics.Gauge, metrics.NewDesc
	return &trackerMetrics{
		s:           s,
		state:       d("depot_tracker_storage_state", "1 for the state a storage is in as this tracker sees it, 0 for the other states.", g, "group", "storage", "state"),
		beat:        d("depot_tracker_storage_last_heartbeat_timestamp_seconds", "Unix time of a storage's last heartbeat to the trackers (0 = none yet).", g, "group", "storage"),
		leader:      d("depot_tracker_leader", "1 while this tracker is the leader.", g),
		leaderKnown: d("depot_tracker_leader_known", "1 while this tracker knows a leader (readiness).", g),
		known:       d("depot_tracker_known_trackers", "Trackers this tracker knows, itself included.", g),
		alive:       d("depot_tracker_peer_alive", "1 for a known tracker that gossip reports alive, 0 otherwise.", g, "tracker"),
	}
}

func (m *trackerMetrics) Describe() []*metrics.Desc {
	return []*metrics.Desc{m.state, m.beat, m.leader, m.leaderKnown, m.known, m.alive}
}

func (m *trackerMetrics) Collect(e metrics.Emitter) {
	for _, st := range m.s.storageStatuses() {
		for _, s := range allStatuses {
			e.Emit(m.state, bool01(st.status == s), st.group, st.key, s.String())
		}
		e.Emit(m.beat, float64(st.lastHeartbeat), st.group, st.key)
	}
	c := m.s.coord
	e.Emit(m.leader, bool01(c.IsLeader()))
	_, known := c.LeaderAddr()
	e.Emit(m.leaderKnown, bool01(known))
	peers := c.Peers()
	e.Emit(m.known, float64(len(peers)))
	for _, p := range peers {
		e.Emit(m.alive, bool01(p.Alive), p.GRPCAddr)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newAdmin makes the node's metrics registry and admin endpoints (with the cluster page),
// registers the gRPC health
// service on its gRPC server and, with http.admin_port (or anyPort), binds the admin
// listener on bind_addr. The caller starts it.
func newAdmin(cfg NodeConfig, srv *Server, n *Node, log *slog.Logger) (net.Listener, error) {
	reg := metrics.NewRegistry(log.With("component", "metrics"))
	if err := reg.Register(newTrackerMetrics(srv)); err != nil {
		return nil, err
	}
	page := clusterpage.Handler(srv.ClusterView, log.With("component", "clusterpage"))
	n.admin = admin.New(admin.Config{Metrics: reg.Handler(), Page: page, Ready: srv.Ready, Logger: log.With("component", "admin")})
	n.admin.Register(n.gs)
	tc := cfg.Tracker
	if tc.AdminPort == 0 && !cfg.AdminAnyPort {
		return nil, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(tc.BindAddr, strconv.Itoa(tc.AdminPort)))
	if err != nil {
		return nil, fmt.Errorf("admin listener (http.admin_port %d): %w", tc.AdminPort, err)
	}
	return ln, nil
}

// AdminAddr returns the admin listener's address, "" when it is off.
func (n *Node) AdminAddr() string { return n.admin.Addr() }
