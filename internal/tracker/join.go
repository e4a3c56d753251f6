package tracker

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Join registers a storage or re-registers a known one.
func (s *Server) Join(ctx context.Context, req *trackerpb.JoinRequest) (*trackerpb.JoinResponse, error) {
	resp, err := s.join(ctx, req)
	if err != nil {
		s.refused("join", req.GetGroup(), joinName(req, peerHost(ctx)), err)
	}
	return resp, toStatus(err)
}

func (s *Server) join(ctx context.Context, req *trackerpb.JoinRequest) (*trackerpb.JoinResponse, error) {
	seen := peerHost(ctx)
	addr := req.GetAddr()
	if addr == "" {
		addr = seen
	}
	// IPv6 storages need storage ids: a file name holds 4 source bytes (FastDFS's rule too).
	if a, err := netip.ParseAddr(addr); err != nil || a.Zone() != "" || !a.Is4() && !s.cfg.Tracker.UseStorageID {
		return nil, fmt.Errorf("%w: join: address %q is not IPv4 (IPv6 needs use_storage_id)", ErrInvalid, addr)
	}
	if u := req.GetHttpUrl(); u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%w: join: http_url %q (want http://host:port)", ErrInvalid, u)
		}
	}
	port := int(req.GetPort())
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("%w: join: port %d", ErrInvalid, port)
	}
	paths, subdirs := int(req.GetStorePathCount()), int(req.GetSubdirCount())
	if paths == 0 {
		paths = 1
	}
	if subdirs == 0 {
		subdirs = 256
	}
	if paths < 1 || paths > 256 || subdirs < 1 || subdirs > 256 {
		return nil, fmt.Errorf("%w: join: store_path_count %d, subdir_count %d", ErrInvalid, paths, subdirs)
	}
	who, err := s.identify(req.GetGroup(), req.GetStorageId(), addr, port)
	if err != nil {
		return nil, err
	}
	s.addPeers(req.GetTrackerServers())

	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupForJoin(who, paths, subdirs, now)
	if err != nil {
		return nil, err
	}
	st := g.storages[who.key]
	fresh := st == nil || st.Status == meta.StatusDeleted
	if fresh {
		st = &meta.Storage{Group: who.group, Key: who.key, Added: now, JoinTime: now}
		if req.GetJoinTime() > 0 {
			st.JoinTime = time.Unix(req.GetJoinTime(), 0).UTC()
		}
		g.storages[who.key] = st
	}
	old := *st
	st.ID, st.Addr, st.Port, st.HTTPURL, st.RW = who.id, addr, port, req.GetHttpUrl(), who.rw
	st.StorePathCount, st.SubdirCount, st.UploadPriority = paths, subdirs, int(req.GetUploadPriority())
	st.Version, st.HasFiles, st.LastHeartbeat = req.GetVersion(), req.GetHasFiles(), now
	if req.GetUpTime() > 0 {
		st.UpTime = time.Unix(req.GetUpTime(), 0).UTC()
	}
	if fresh {
		s.placeNew(g, st, now)
	} else {
		switch st.Status {
		case meta.StatusOffline, meta.StatusRecovery, meta.StatusIPChanged:
			st.Status = meta.StatusOnline
		case meta.StatusInit:
			s.placeNew(g, st, now)
		}
		// A storage that had files and comes back without any lost its disk: it copies
		// everything again from a sync source, as a new one does.
		if old.HasFiles && !st.HasFiles && (st.Status == meta.StatusOnline || st.Status == meta.StatusActive) {
			s.placeNew(g, st, now)
		}
	}
	if fresh || old.Status != st.Status || old.Addr != st.Addr || old.Port != st.Port || old.HTTPURL != st.HTTPURL {
		g.version++
		s.log.Info("storage joined", "group", st.Group, "storage", st.Key, "addr", st.Addr, "status", st.Status)
		if old.Status == meta.StatusOffline && !fresh {
			s.event(clusterpage.LevelInfo, st.Group, st.Key, "joined again", "was OFFLINE, now "+st.Status.String())
		}
	}
	if err := s.saveStorage(st); err != nil {
		return nil, err
	}
	s.seen[seenKey(st)] = g.version
	return &trackerpb.JoinResponse{
		Status:         trackerpb.StorageStatus(st.Status),
		StorageKey:     st.Key,
		YourAddr:       seen,
		Group:          st.Group,
		Members:        briefs(g),
		Parameters:     s.parameters(),
		TrunkServerKey: g.meta.TrunkServer, TrunkEpoch: g.meta.TrunkEpoch,
	}, nil
}

// groupForJoin returns the storage's group, creating it, and checks the storage's layout
// against the other members: subdir_count must match and store_path_count not be smaller.
func (s *Server) groupForJoin(who identity, paths, subdirs int, now time.Time) (*group, error) {
	g := s.groups[who.group]
	if g == nil {
		g = &group{meta: meta.Group{Name: who.group, Created: now}, storages: map[string]*meta.Storage{}}
	}
	maxPaths := 0
	for _, o := range g.storages {
		if o.Key == who.key || o.Status == meta.StatusDeleted {
			continue
		}
		if o.SubdirCount != subdirs {
			return nil, fmt.Errorf("%w: join %s: subdir_count %d, group %s uses %d", ErrInvalid, who.key, subdirs, who.group, o.SubdirCount)
		}
		maxPaths = max(maxPaths, o.StorePathCount)
	}
	if paths < maxPaths {
		return nil, fmt.Errorf("%w: join %s: store_path_count %d, group %s has %d", ErrInvalid, who.key, paths, who.group, maxPaths)
	}
	if s.groups[who.group] == nil || g.meta.StorePathCount != paths || g.meta.SubdirCount != subdirs {
		g.meta.StorePathCount, g.meta.SubdirCount = paths, subdirs
		if err := s.cfg.Meta.PutGroup(g.meta); err != nil {
			return nil, fmt.Errorf("%w: group %s: %w", ErrPersist, who.group, err)
		}
		s.groups[who.group] = g
	}
	return g, nil
}

// placeNew sets the status of a storage new to its group: ONLINE when there is nothing to
// copy, else WAIT_SYNC with a sync source.
func (s *Server) placeNew(g *group, st *meta.Storage, now time.Time) {
	src := syncSource(g, st.Key)
	if src == nil {
		st.Status, st.SyncSource, st.SyncUntil = meta.StatusOnline, "", 0
		return
	}
	st.Status, st.SyncSource, st.SyncUntil = meta.StatusWaitSync, src.Key, now.Unix()
	s.log.Info("storage waits for sync", "group", st.Group, "storage", st.Key, "source", src.Key)
}

// syncSource picks the member a new storage copies from: one with files that is ACTIVE,
// else ONLINE, else OFFLINE (first by key). nil means there is nothing to copy.
func syncSource(g *group, self string) *meta.Storage {
	for _, want := range []meta.Status{meta.StatusActive, meta.StatusOnline, meta.StatusOffline} {
		for _, o := range g.sorted() {
			if o.Key != self && o.HasFiles && o.Status == want {
				return o
			}
		}
	}
	return nil
}

func seenKey(st *meta.Storage) string { return st.Group + "\x00" + st.Key }
