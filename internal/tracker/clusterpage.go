package tracker

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/proto/trackerpb"
)

// ClusterView is the cluster page's document (package clusterpage): what ListGroups answers,
// which "fdfs monitor" prints, and the recent events.
func (s *Server) ClusterView() (*clusterpage.View, error) {
	resp, err := s.listGroups("")
	if err != nil {
		return nil, err
	}
	v := &clusterpage.View{Now: s.now().Unix(), Groups: []clusterpage.Group{}}
	ti := resp.GetTracker()
	v.Tracker = clusterpage.Tracker{Addr: ti.GetAddr(), Leader: ti.GetLeaderAddr(), IsLeader: ti.GetIsLeader(), Peers: []clusterpage.Peer{}}
	for _, p := range ti.GetPeers() {
		v.Tracker.Peers = append(v.Tracker.Peers, clusterpage.Peer{Addr: p.GetGrpcAddr(), Alive: p.GetAlive(), Leader: p.GetLeader()})
	}
	for _, g := range resp.GetGroups() {
		vg := clusterpage.Group{Name: g.GetName(), FreeBytes: g.GetFreeBytes(), TotalBytes: g.GetTotalBytes(),
			Active: int(g.GetActiveCount()), TrunkServer: g.GetTrunkServerKey(), Storages: []clusterpage.Storage{}}
		for _, st := range g.GetStorages() {
			vg.Storages = append(vg.Storages, viewStorage(st))
		}
		v.Groups = append(v.Groups, vg)
	}
	v.Events, v.EventsDropped = s.events.Recent()
	return v, nil
}

func viewStorage(in *trackerpb.StorageInfo) clusterpage.Storage {
	b := in.GetBrief()
	out := clusterpage.Storage{
		Key: b.GetKey(), ID: b.GetId(), Addr: b.GetAddr(), Port: int(b.GetPort()), HTTPURL: b.GetHttpUrl(),
		State: in.GetStatusName(), RW: in.GetRw(), Version: in.GetVersion(),
		JoinTime: in.GetJoinTime(), UpTime: in.GetUpTime(), LastHeartbeat: in.GetLastHeartbeat(),
		FreeBytes: in.GetFreeBytes(), TotalBytes: in.GetTotalBytes(), SyncSource: b.GetSyncSourceKey(),
		LastSynced: in.GetLastSyncedTs(), Paths: []clusterpage.Path{}, Lag: []clusterpage.Lag{},
	}
	if out.JoinTime < 0 {
		out.JoinTime = 0
	}
	if out.LastHeartbeat < 0 {
		out.LastHeartbeat = 0 // the zero time.Time's Unix
	}
	for _, d := range in.GetDisk() {
		out.Paths = append(out.Paths, clusterpage.Path{Index: int(d.GetPathIndex()), FreeBytes: d.GetFreeBytes(), TotalBytes: d.GetTotalBytes()})
	}
	for _, p := range in.GetSync() {
		out.Lag = append(out.Lag, clusterpage.Lag{Peer: p.GetPeerKey(), LastSynced: p.GetLastSyncedTs(),
			Files: p.GetLagFiles(), Bytes: p.GetLagBytes(), InitialCopyDone: p.GetInitialCopyDone()})
	}
	return out
}

// event records a recent event for the cluster page.
func (s *Server) event(level, group, storage, message, detail string) {
	s.events.Add(s.now(), clusterpage.Event{Level: level, Group: group, Storage: storage, Message: message, Detail: detail})
}

// refused records a refused Join or Heartbeat; the storage is named as the request names it.
func (s *Server) refused(what, group, storage string, err error) {
	s.event(clusterpage.LevelWarn, group, storage, what+" refused", err.Error())
}

// joinName names the storage of a join request: its id, else addr:port.
func joinName(req *trackerpb.JoinRequest, seen string) string {
	if id := req.GetStorageId(); id != "" {
		return id
	}
	addr := req.GetAddr()
	if addr == "" {
		addr = seen
	}
	return net.JoinHostPort(addr, strconv.Itoa(int(req.GetPort())))
}

// offlineDetail says why the sweep marked a storage OFFLINE.
func offlineDetail(silent, limit time.Duration) string {
	return fmt.Sprintf("no heartbeat for %v (check_active_interval %v)", silent, limit)
}
