package tracker

import (
	"context"
	"fmt"
	"slices"

	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// ListGroups describes groups and their storages, deleted ones included, for the monitor.
func (s *Server) ListGroups(ctx context.Context, req *trackerpb.ListGroupsRequest) (*trackerpb.ListGroupsResponse, error) {
	resp, err := s.listGroups(req.GetGroup())
	return resp, toStatus(err)
}

func (s *Server) listGroups(only string) (*trackerpb.ListGroupsResponse, error) {
	resp := &trackerpb.ListGroupsResponse{Tracker: s.trackerInfo()} // before s.mu: asks the coordinator
	s.mu.Lock()
	defer s.mu.Unlock()
	if only != "" && s.groups[only] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, only)
	}
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		if only == "" || n == only {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		g := s.groups[n]
		gi := &trackerpb.GroupInfo{Name: n, TrunkServerKey: g.meta.TrunkServer, TrunkEpoch: g.meta.TrunkEpoch}
		first := true
		for _, st := range g.sorted() {
			gi.Storages = append(gi.Storages, s.storageInfo(st))
			if st.Status == meta.StatusActive {
				gi.ActiveCount++
			}
			if t, f, ok := usage(st); ok && writable(st) && (first || f < gi.FreeBytes) {
				gi.TotalBytes, gi.FreeBytes, first = t, f, false
			}
		}
		resp.Groups = append(resp.Groups, gi)
	}
	return resp, nil
}

// TrackerInfo describes this tracker and the peers its coordinator knows. Gossip and raft
// addresses not set in Config come from the coordinator when it has GossipAddr or RaftAddr
// methods.
func (s *Server) TrackerInfo(ctx context.Context, req *trackerpb.TrackerInfoRequest) (*trackerpb.TrackerInfoResponse, error) {
	return s.trackerInfo(), nil
}

func (s *Server) trackerInfo() *trackerpb.TrackerInfoResponse {
	info := &trackerpb.TrackerInfoResponse{
		Addr: s.cfg.Addr, GossipAddr: s.cfg.GossipAddr, RaftAddr: s.cfg.RaftAddr,
		IsLeader: s.coord.IsLeader(),
	}
	if c, ok := s.coord.(interface{ GossipAddr() string }); ok && info.GossipAddr == "" {
		info.GossipAddr = c.GossipAddr()
	}
	if c, ok := s.coord.(interface{ RaftAddr() string }); ok && info.RaftAddr == "" {
		info.RaftAddr = c.RaftAddr()
	}
	if addr, ok := s.coord.LeaderAddr(); ok {
		info.LeaderAddr = addr
	}
	for _, p := range s.coord.Peers() {
		info.Peers = append(info.Peers, &trackerpb.TrackerPeer{GrpcAddr: p.GRPCAddr, Alive: p.Alive, Leader: p.Leader})
	}
	return info
}
