package tracker

import (
	"context"
	"fmt"
	"time"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Heartbeat records a storage's liveness, disk usage and sync progress.
func (s *Server) Heartbeat(ctx context.Context, req *trackerpb.HeartbeatRequest) (*trackerpb.HeartbeatResponse, error) {
	resp, err := s.heartbeat(req)
	if err != nil {
		s.refused("heartbeat", req.GetGroup(), req.GetStorageKey(), err)
	}
	return resp, toStatus(err)
}

func (s *Server) heartbeat(req *trackerpb.HeartbeatRequest) (*trackerpb.HeartbeatResponse, error) {
	s.addPeers(req.GetTrackerServers())
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, st := s.findStorage(req.GetGroup(), req.GetStorageKey())
	if st == nil || st.Status == meta.StatusDeleted {
		return nil, fmt.Errorf("%w: heartbeat: %s/%s (join again)", ErrUnknownStorage, req.GetGroup(), req.GetStorageKey())
	}
	disk, err := diskReport(st, req.GetDisk())
	if err != nil {
		return nil, err
	}
	before := st.Clone()
	st.LastHeartbeat, st.HasFiles = now, req.GetHasFiles()
	if disk != nil {
		st.Disk = disk
	}
	if len(req.GetSync()) > 0 {
		st.Sync = syncReport(req.GetSync())
	}
	s.advance(g, st, now)
	if st.Status != before.Status {
		g.version++
		s.log.Info("storage status", "group", st.Group, "storage", st.Key, "from", before.Status, "to", st.Status)
		if before.Status == meta.StatusOffline {
			s.event(clusterpage.LevelInfo, st.Group, st.Key, "back "+st.Status.String(), "was OFFLINE")
		}
	}
	if s.needSave(&before, st) {
		if err := s.saveStorage(st); err != nil {
			return nil, err
		}
	}
	k := seenKey(st)
	changed := s.seen[k] != g.version
	s.seen[k] = g.version
	return &trackerpb.HeartbeatResponse{
		Status:         trackerpb.StorageStatus(st.Status),
		Members:        briefs(g),
		Changed:        changed,
		TrunkServerKey: g.meta.TrunkServer, TrunkEpoch: g.meta.TrunkEpoch,
	}, nil
}

// findStorage finds a storage by group and key; an empty group (a storage that learnt its
// group from storage_ids.conf) searches every group. The caller holds s.mu.
func (s *Server) findStorage(group, key string) (*group, *meta.Storage) {
	if group != "" {
		if g := s.groups[group]; g != nil {
			return g, g.storages[key]
		}
		return nil, nil
	}
	for _, g := range s.groups {
		if st := g.storages[key]; st != nil && st.Status != meta.StatusDeleted {
			return g, st
		}
	}
	return nil, nil
}

// needSave tells whether a heartbeat changed st enough to write it: anything but the last
// heartbeat time and the sync progress (which moves on every beat while files replicate),
// or a saved heartbeat time half of check_active_interval old. A restarted tracker
// therefore never sees a live storage's last heartbeat as more than half the interval old,
// and neither an idle nor a replicating cluster writes on every beat.
func (s *Server) needSave(before, st *meta.Storage) bool {
	saved := before.Clone()
	saved.LastHeartbeat = st.LastHeartbeat
	saved.Sync = st.Sync
	if !saved.Equal(*st) {
		return true
	}
	last, ok := s.savedBeat[seenKey(st)]
	return !ok || st.LastHeartbeat.Sub(last) >= s.cfg.Tracker.CheckActiveInterval/2
}

// advance moves a storage along on a heartbeat: ONLINE and OFFLINE become ACTIVE; WAIT_SYNC
// and SYNCING follow the sync source's progress as the storage reports it.
func (s *Server) advance(g *group, st *meta.Storage, now time.Time) {
	switch st.Status {
	case meta.StatusOnline, meta.StatusOffline:
		st.Status = meta.StatusActive
	case meta.StatusWaitSync, meta.StatusSyncing:
		src := g.storages[st.SyncSource]
		if src == nil || src.Status == meta.StatusDeleted {
			// The source is gone: pick another one, or none is needed any more.
			if n := syncSource(g, st.Key); n != nil {
				st.Status, st.SyncSource, st.SyncUntil = meta.StatusWaitSync, n.Key, now.Unix()
			} else {
				st.Status, st.SyncSource, st.SyncUntil = meta.StatusOnline, "", 0
			}
			return
		}
		for _, p := range st.Sync {
			if p.Peer != st.SyncSource {
				continue
			}
			if p.InitialCopyDone {
				st.Status, st.SyncSource, st.SyncUntil = meta.StatusOnline, "", 0
			} else {
				st.Status = meta.StatusSyncing
			}
		}
	}
}

// diskReport validates a disk report: path indexes within the storage's store paths, each
// at most once, free not above total. nil means no report.
func diskReport(st *meta.Storage, in []*trackerpb.DiskUsage) ([]meta.Disk, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]meta.Disk, 0, len(in))
	seen := map[int32]bool{}
	for _, d := range in {
		i := d.GetPathIndex()
		if i < 0 || int(i) >= st.StorePathCount || seen[i] || d.GetFreeBytes() > d.GetTotalBytes() {
			return nil, fmt.Errorf("%w: heartbeat %s: disk path %d (total %d, free %d) of %d store paths",
				ErrInvalid, st.Key, i, d.GetTotalBytes(), d.GetFreeBytes(), st.StorePathCount)
		}
		seen[i] = true
		out = append(out, meta.Disk{PathIndex: int(i), Total: d.GetTotalBytes(), Free: d.GetFreeBytes()})
	}
	return out, nil
}

func syncReport(in []*trackerpb.SyncProgress) []meta.Sync {
	out := make([]meta.Sync, 0, len(in))
	for _, p := range in {
		out = append(out, meta.Sync{
			Peer: p.GetPeerKey(), LastSyncedTS: p.GetLastSyncedTs(), LagFiles: p.GetLagFiles(),
			LagBytes: p.GetLagBytes(), InitialCopyDone: p.GetInitialCopyDone(),
		})
	}
	return out
}
