package tracker

import (
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

func brief(st *meta.Storage) *trackerpb.StorageBrief {
	return &trackerpb.StorageBrief{
		Key: st.Key, Id: st.ID, Group: st.Group, Addr: st.Addr, Port: int32(st.Port),
		HttpUrl: st.HTTPURL, Status: trackerpb.StorageStatus(st.Status),
		SyncSourceKey: st.SyncSource, SyncUntilTs: st.SyncUntil, NativePort: int32(st.NativePort),
	}
}

// briefs lists a group's storages in key order, deleted ones left out.
func briefs(g *group) []*trackerpb.StorageBrief {
	var out []*trackerpb.StorageBrief
	for _, st := range g.sorted() {
		if st.Status != meta.StatusDeleted {
			out = append(out, brief(st))
		}
	}
	return out
}

func (s *Server) storageInfo(st *meta.Storage) *trackerpb.StorageInfo {
	total, free, _ := usage(st)
	info := &trackerpb.StorageInfo{
		Brief: brief(st), StatusName: st.Status.String(),
		JoinTime: st.JoinTime.Unix(), LastHeartbeat: st.LastHeartbeat.Unix(),
		TotalBytes: total, FreeBytes: free, LastSyncedTs: s.lastSynced(st, ""),
		UploadPriority: int32(st.UploadPriority), Version: st.Version,
		StorePathCount: int32(st.StorePathCount), SubdirCount: int32(st.SubdirCount), Rw: st.RW,
	}
	if !st.UpTime.IsZero() {
		info.UpTime = st.UpTime.Unix()
	}
	for _, d := range st.Disk {
		info.Disk = append(info.Disk, &trackerpb.DiskUsage{PathIndex: int32(d.PathIndex), TotalBytes: d.Total, FreeBytes: d.Free})
	}
	for _, p := range st.Sync {
		info.Sync = append(info.Sync, &trackerpb.SyncProgress{
			PeerKey: p.Peer, LastSyncedTs: p.LastSyncedTS, LagFiles: p.LagFiles,
			LagBytes: p.LagBytes, InitialCopyDone: p.InitialCopyDone,
		})
	}
	return info
}

// usage sums a storage's disk report; ok is false when it has reported none.
func usage(st *meta.Storage) (total, free uint64, ok bool) {
	for _, d := range st.Disk {
		total += d.Total
		free += d.Free
	}
	return total, free, len(st.Disk) > 0
}

// readable and writable: ACTIVE, and allowed by the storage_ids.conf rw= mode.
func readable(st *meta.Storage) bool {
	return st.Status == meta.StatusActive && (st.RW == conf.RWBoth || st.RW == conf.RWRead || st.RW == "")
}

func writable(st *meta.Storage) bool {
	return st.Status == meta.StatusActive && (st.RW == conf.RWBoth || st.RW == conf.RWWrite || st.RW == "")
}
