package clusterpage

// View is the document /cluster/state.json serves: one tracker's view of its cluster, the
// same data "fdfs monitor" prints (the tracker's ListGroups) plus the recent events. Times
// are Unix seconds, 0 for never; sizes are bytes.
type View struct {
	Now     int64   `json:"now"` // the tracker's clock, for the page's "ago" columns
	Tracker Tracker `json:"tracker"`
	Groups  []Group `json:"groups"`
	Events  []Event `json:"events"` // newest first
	// EventsDropped counts events that left the full ring since the tracker started.
	EventsDropped uint64 `json:"events_dropped"`
}

// Tracker is the tracker that answered and the trackers it knows.
type Tracker struct {
	Addr     string `json:"addr"`
	Leader   string `json:"leader"` // "" when no leader is known
	IsLeader bool   `json:"is_leader"`
	Peers    []Peer `json:"peers"`
}

// Peer is a tracker of the cluster as gossip sees it.
type Peer struct {
	Addr   string `json:"addr"`
	Alive  bool   `json:"alive"`
	Leader bool   `json:"leader"`
}

// Group is a group and its storages, deleted ones included.
type Group struct {
	Name string `json:"name"`
	// FreeBytes and TotalBytes are the group's space: that of its writable storage with
	// the least free space (what uploads can count on).
	FreeBytes   uint64    `json:"free_bytes"`
	TotalBytes  uint64    `json:"total_bytes"`
	Active      int       `json:"active"`
	TrunkServer string    `json:"trunk_server,omitempty"`
	Storages    []Storage `json:"storages"`
}

// Storage is one storage as the tracker sees it.
type Storage struct {
	Key           string `json:"key"`
	ID            string `json:"id,omitempty"`
	Addr          string `json:"addr"`
	Port          int    `json:"port"`
	HTTPURL       string `json:"http_url,omitempty"`
	State         string `json:"state"` // FastDFS's name: ACTIVE, OFFLINE, ...
	RW            string `json:"rw,omitempty"`
	Version       string `json:"version,omitempty"`
	JoinTime      int64  `json:"join_time"`
	UpTime        int64  `json:"up_time"`
	LastHeartbeat int64  `json:"last_heartbeat"`
	FreeBytes     uint64 `json:"free_bytes"`
	TotalBytes    uint64 `json:"total_bytes"`
	Paths         []Path `json:"paths"` // per store path, as last reported
	// SyncSource is the member copying its files here while WAIT_SYNC or SYNCING.
	SyncSource string `json:"sync_source,omitempty"`
	LastSynced int64  `json:"last_synced"` // the storage's overall sync point
	Lag        []Lag  `json:"lag"`         // replication from each peer, as last reported
}

// Path is the space of one store path (store_path<Index>).
type Path struct {
	Index      int    `json:"index"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

// Lag is how far a storage is behind one peer of its group.
type Lag struct {
	Peer            string `json:"peer"`
	LastSynced      int64  `json:"last_synced"` // timestamp of the newest file synced from it
	Files           int64  `json:"files"`       // files still to copy
	Bytes           int64  `json:"bytes"`
	InitialCopyDone bool   `json:"initial_copy_done"`
}
