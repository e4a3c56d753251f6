package conf

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Trunk limits FastDFS applies to tracker.conf values.
const (
	maxSlotMinSize   = 64 << 10
	minTrunkFileSize = 4 << 20
)

// Tracker is tracker.conf, with FastDFS's code defaults for absent keys.
type Tracker struct {
	Path string

	BindAddr                   string
	Port                       int
	ConnectTimeout             time.Duration
	NetworkTimeout             time.Duration
	BasePath                   string
	MaxConnections             int
	MinBuffSize                int64
	MaxBuffSize                int64
	StoreLookup                int // 0 round robin, 1 StoreGroup, 2 most free space
	StoreGroup                 string
	StoreServer                int // 0 round robin, 1 first by id/IP, 2 lowest upload_priority
	StorePath                  int // 0 round robin, 2 most free space
	DownloadServer             int // 0 round robin, 1 source storage first
	ReservedStorageSpace       Reserved
	LogLevel                   string
	AllowHosts                 []string
	AllowHostsAt               []string // "file:line" of each AllowHosts value, for errors
	CheckActiveInterval        time.Duration
	StorageIPChangedAutoAdjust bool
	StorageSyncFileMaxDelay    time.Duration
	StorageSyncFileMaxTime     time.Duration

	UseTrunkFile                   bool
	SlotMinSize                    int64
	SlotMaxSize                    int64 // 0 in the file = TrunkFileSize/8
	TrunkAllocAlignmentSize        int64
	TrunkFreeSpaceMerge            bool
	DeleteUnusedTrunkFiles         bool
	TrunkFileSize                  int64
	TrunkCreateFileAdvance         bool
	TrunkCreateFileTimeBase        TimeOfDay
	TrunkCreateFileInterval        time.Duration
	TrunkCreateFileSpaceThreshold  int64
	TrunkInitCheckOccupying        bool
	TrunkInitReloadFromBinlog      bool
	TrunkCompressBinlogMinInterval time.Duration
	TrunkCompressBinlogInterval    time.Duration
	TrunkCompressBinlogTimeBase    TimeOfDay
	TrunkBinlogMaxBackups          int

	UseStorageID              bool
	StorageIDsFilename        string
	IDTypeInFilename          string // "ip" or "id"
	TrustStorageServerID      bool
	StoreSlaveFileUseLink     bool
	ResponseIPAddrSize        string // "auto", "IPv4"/"16", anything else = IPv6 size
	UseConnectionPool         bool
	ConnectionPoolMaxIdleTime time.Duration

	// Depot-only keys for tracker clusters; FastDFS does not have them.
	GossipPort    int      // gossip_port: memberlist port on bind_addr; 0 = port+1 (cmd/tracker)
	RaftPort      int      // raft_port: Raft port on bind_addr; 0 = port+2 (cmd/tracker)
	ClusterExpect int      // cluster_expect: trackers to wait for before a new cluster starts; 0 = learn from storages' tracker_server lists
	ClusterSeeds  []string // cluster_seeds: other trackers' gRPC host:port (repeatable); optional

	// AdminPort is http.admin_port (Depot): the admin listener on bind_addr (/metrics,
	// /healthz, /readyz; docs/operations.md). 0 = off, the default.
	AdminPort int

	// StopTimeout is stop_timeout (Depot): how long a stop (SIGTERM) lets calls in flight
	// finish before their connections are closed. Default 5 s; 0 = no wait.
	StopTimeout time.Duration

	// TLS is tls_cert_file and tls_key_file (gRPC over TLS on port) and tls_ca_file (the CAs
	// trusted for the other trackers, which a tracker with TLS reaches over TLS).
	TLS TLS
}

// DefaultTracker returns the values used for keys absent from tracker.conf.
func DefaultTracker() Tracker {
	return Tracker{
		Port:                        22122,
		ConnectTimeout:              10 * time.Second,
		NetworkTimeout:              30 * time.Second,
		StopTimeout:                 5 * time.Second,
		MaxConnections:              256,
		MinBuffSize:                 8 << 10,
		MaxBuffSize:                 128 << 10,
		ReservedStorageSpace:        Reserved{Bytes: 1024 << 20},
		LogLevel:                    "info",
		CheckActiveInterval:         100 * time.Second,
		StorageIPChangedAutoAdjust:  true,
		StorageSyncFileMaxDelay:     86400 * time.Second,
		StorageSyncFileMaxTime:      300 * time.Second,
		SlotMinSize:                 256,
		TrunkFileSize:               64 << 20,
		TrunkCreateFileTimeBase:     TimeOfDay{Hour: 2},
		TrunkCreateFileInterval:     86400 * time.Second,
		TrunkCompressBinlogTimeBase: TimeOfDay{Hour: 3},
		IDTypeInFilename:            "ip",
		TrustStorageServerID:        true,
		ResponseIPAddrSize:          "auto",
		ConnectionPoolMaxIdleTime:   3600 * time.Second,
	}
}

// trackerIgnored are FastDFS tracker.conf keys Depot accepts and does not use.
var trackerIgnored = []string{
	"disabled", "address_family", "use_io_uring", "use_send_zc", "accept_threads",
	"work_threads", "run_by_group", "run_by_user", "thread_stack_size",
	"sync_log_buff_interval", "log_file_rotate_everyday", "log_file_rotate_time",
	"log_file_compress_old", "log_file_compress_days_before", "log_file_rotate_on_size",
	"log_file_keep_days", "log_file_delete_old_time", "rotate_error_log", "error_log_rotate_time",
	"rotate_error_log_size", "http.server_port", "http.check_alive_interval",
	"http.check_alive_type", "http.check_alive_uri",
}

// LoadTracker reads tracker.conf at path: defaults, then the file, then Validate.
func LoadTracker(path string, log *slog.Logger) (*Tracker, error) {
	t, _, err := LoadTrackerValues(path, log)
	return t, err
}

func (t *Tracker) bind(b *binder) {
	b.str("bind_addr", &t.BindAddr)
	b.integer("port", &t.Port)
	b.seconds("connect_timeout", &t.ConnectTimeout)
	b.seconds("network_timeout", &t.NetworkTimeout)
	b.str("base_path", &t.BasePath)
	b.integer("max_connections", &t.MaxConnections)
	b.size("min_buff_size", &t.MinBuffSize)
	b.size("max_buff_size", &t.MaxBuffSize)
	b.integer("store_lookup", &t.StoreLookup)
	b.str("store_group", &t.StoreGroup)
	b.integer("store_server", &t.StoreServer)
	b.integer("store_path", &t.StorePath)
	b.integer("download_server", &t.DownloadServer)
	b.reserved("reserved_storage_space", &t.ReservedStorageSpace)
	b.str("log_level", &t.LogLevel)
	b.list("allow_hosts", &t.AllowHosts)
	b.seconds("stop_timeout", &t.StopTimeout)
	for _, e := range b.d.all(b.section, "allow_hosts") {
		if e.Value != "" {
			t.AllowHostsAt = append(t.AllowHostsAt, fmt.Sprintf("%s:%d", e.File, e.Line))
		}
	}
	b.seconds("check_active_interval", &t.CheckActiveInterval)
	b.boolean("storage_ip_changed_auto_adjust", &t.StorageIPChangedAutoAdjust)
	b.seconds("storage_sync_file_max_delay", &t.StorageSyncFileMaxDelay)
	b.seconds("storage_sync_file_max_time", &t.StorageSyncFileMaxTime)
	b.boolean("use_trunk_file", &t.UseTrunkFile)
	b.size("slot_min_size", &t.SlotMinSize)
	b.size("slot_max_size", &t.SlotMaxSize)
	b.size("trunk_alloc_alignment_size", &t.TrunkAllocAlignmentSize)
	b.boolean("trunk_free_space_merge", &t.TrunkFreeSpaceMerge)
	b.boolean("delete_unused_trunk_files", &t.DeleteUnusedTrunkFiles)
	b.size("trunk_file_size", &t.TrunkFileSize)
	b.boolean("trunk_create_file_advance", &t.TrunkCreateFileAdvance)
	b.clock("trunk_create_file_time_base", &t.TrunkCreateFileTimeBase)
	b.seconds("trunk_create_file_interval", &t.TrunkCreateFileInterval)
	b.size("trunk_create_file_space_threshold", &t.TrunkCreateFileSpaceThreshold)
	b.boolean("trunk_init_check_occupying", &t.TrunkInitCheckOccupying)
	b.boolean("trunk_init_reload_from_binlog", &t.TrunkInitReloadFromBinlog)
	b.seconds("trunk_compress_binlog_min_interval", &t.TrunkCompressBinlogMinInterval)
	b.seconds("trunk_compress_binlog_interval", &t.TrunkCompressBinlogInterval)
	b.clock("trunk_compress_binlog_time_base", &t.TrunkCompressBinlogTimeBase)
	b.integer("trunk_binlog_max_backups", &t.TrunkBinlogMaxBackups)
	b.boolean("use_storage_id", &t.UseStorageID)
	b.str("storage_ids_filename", &t.StorageIDsFilename)
	b.str("id_type_in_filename", &t.IDTypeInFilename)
	b.boolean("trust_storage_server_id", &t.TrustStorageServerID)
	b.boolean("store_slave_file_use_link", &t.StoreSlaveFileUseLink)
	b.str("response_ip_addr_size", &t.ResponseIPAddrSize)
	b.boolean("use_connection_pool", &t.UseConnectionPool)
	b.seconds("connection_pool_max_idle_time", &t.ConnectionPoolMaxIdleTime)
	b.integer("gossip_port", &t.GossipPort)
	b.integer("raft_port", &t.RaftPort)
	b.integer("cluster_expect", &t.ClusterExpect)
	b.addrs("cluster_seeds", &t.ClusterSeeds)
	b.integer("http.admin_port", &t.AdminPort)
	t.TLS.bind(b, "tls_")
	b.ignore(trackerIgnored...)
	b.ignore(httpKeys...) // old tracker.conf files include http.conf
	b.ignoreSection("error-log", "access-log")
}

// normalize applies the adjustments FastDFS makes to trunk settings, logging each one.
func (t *Tracker) normalize(b *binder) {
	if t.TrunkAllocAlignmentSize > t.SlotMinSize {
		t.SlotMinSize = t.TrunkAllocAlignmentSize
	}
	if t.SlotMinSize > maxSlotMinSize {
		b.warn("slot_min_size capped", "from", t.SlotMinSize, "to", maxSlotMinSize)
		t.SlotMinSize = maxSlotMinSize
	}
	if t.TrunkFileSize < minTrunkFileSize {
		b.warn("trunk_file_size raised", "from", t.TrunkFileSize, "to", minTrunkFileSize)
		t.TrunkFileSize = minTrunkFileSize
	}
	if t.SlotMaxSize == 0 {
		t.SlotMaxSize = t.TrunkFileSize / 8
	}
	if t.SlotMaxSize > t.TrunkFileSize/2 {
		b.warn("slot_max_size capped", "from", t.SlotMaxSize, "to", t.TrunkFileSize/2)
		t.SlotMaxSize = t.TrunkFileSize / 2
	}
	// FastDFS falls back to round robin for unknown selection modes instead of failing.
	if t.StoreServer < 0 || t.StoreServer > 2 {
		b.warn("store_server unknown, using 0", "value", t.StoreServer)
		t.StoreServer = 0
	}
	if t.StorePath != 0 && t.StorePath != 2 {
		b.warn("store_path unknown, using 0", "value", t.StorePath)
		t.StorePath = 0
	}
	if t.DownloadServer != 0 && t.DownloadServer != 1 {
		b.warn("download_server unknown, using 0", "value", t.DownloadServer)
		t.DownloadServer = 0
	}
	if t.UseTrunkFile && t.StoreServer == 0 {
		t.StoreServer = 1 // FastDFS: trunk files need a stable first storage
	}
	if t.ConnectTimeout <= 0 {
		t.ConnectTimeout = DefaultTracker().ConnectTimeout
	}
	if t.NetworkTimeout <= 0 {
		t.NetworkTimeout = DefaultTracker().NetworkTimeout
	}
}

// ports returns the tracker's other listening ports by key, gossip_port and raft_port as
// they default (port+1, port+2).
func (t *Tracker) ports() map[string]int {
	gossip, raft := t.GossipPort, t.RaftPort
	if gossip == 0 {
		gossip = t.Port + 1
	}
	if raft == 0 {
		raft = t.Port + 2
	}
	return map[string]int{"port": t.Port, "gossip_port": gossip, "raft_port": raft}
}

// Validate checks t. It does not touch the file system.
func (t *Tracker) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	bad := func(key, what string, v any) { add(keyErr(key, invalid(what, fmt.Sprint(v)))) }
	if t.BasePath == "" {
		add(required("base_path"))
	}
	add(checkPort("port", t.Port))
	if t.GossipPort != 0 {
		add(checkPort("gossip_port", t.GossipPort))
	}
	if t.RaftPort != 0 {
		add(checkPort("raft_port", t.RaftPort))
	}
	add(checkAdminPort(t.AdminPort, t.ports()))
	if t.ClusterExpect < 0 {
		bad("cluster_expect", "count (want >= 0)", t.ClusterExpect)
	}
	if t.StoreLookup < 0 || t.StoreLookup > 2 {
		bad("store_lookup", "mode (want 0, 1 or 2)", t.StoreLookup)
	}
	if t.StoreLookup == 1 {
		if t.StoreGroup == "" {
			add(keyErr("store_group", fmt.Errorf("needed with store_lookup = 1: %w", ErrRequired)))
		} else if !groupNameRE.MatchString(t.StoreGroup) {
			bad("store_group", "group name", t.StoreGroup)
		}
	}
	if t.StoreServer < 0 || t.StoreServer > 2 {
		bad("store_server", "mode (want 0, 1 or 2)", t.StoreServer)
	}
	if t.StorePath != 0 && t.StorePath != 2 {
		bad("store_path", "mode (want 0 or 2)", t.StorePath)
	}
	if t.DownloadServer != 0 && t.DownloadServer != 1 {
		bad("download_server", "mode (want 0 or 1)", t.DownloadServer)
	}
	if t.SlotMaxSize <= t.SlotMinSize {
		bad("slot_max_size", "size (want > slot_min_size)", t.SlotMaxSize)
	}
	if t.UseStorageID && t.StorageIDsFilename == "" {
		add(keyErr("storage_ids_filename", fmt.Errorf("needed with use_storage_id: %w", ErrRequired)))
	}
	if t.IDTypeInFilename != "ip" && t.IDTypeInFilename != "id" {
		bad("id_type_in_filename", "id type (want ip or id)", t.IDTypeInFilename)
	}
	add(checkLogLevel("log_level", t.LogLevel))
	add(t.TLS.validate("tls_"))
	return errors.Join(errs...)
}
