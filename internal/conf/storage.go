package conf

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// maxStorePaths is the largest store_path_count: a path index is two hex digits (M00..MFF).
const maxStorePaths = 256

// StorePath is one store_pathN with its store_pathN_readonly flag. Its index in the slice is
// the N of the Mxx segment of file IDs.
type StorePath struct {
	Path     string
	ReadOnly bool
}

// StorageHTTP holds Depot's own http.* keys of storage.conf.
type StorageHTTP struct {
	ServerPort int    // http.server_port: port of Depot's HTTP download server (8888)
	AccessLog  string // http.access_log: path, "" when off (default BasePath/logs/access.log)
	// AccessLogFormat is http.access_log_format: an nginx log_format string ("" = combined plus
	// the request time; docs/logs.md).
	AccessLogFormat string
	ModFastDFSConf  string // http.mod_fastdfs_conf: path of mod_fastdfs.conf, "" = module defaults
	AdvertiseURL    string // http.advertise_url: base URL peers and clients use for this node
	// AdminPort is http.admin_port: the admin listener on bind_addr (/metrics, /healthz,
	// /readyz; docs/operations.md). 0 = off, the default.
	AdminPort int
	// TLS is http.tls.cert_file, http.tls.key_file (HTTPS on http.server_port) and
	// http.tls.ca_file (trusted for https sources when proxying; "" = tls_ca_file, then the
	// system's roots).
	TLS TLS

	Controlled Controlled // controlled downloads: auth, limits, accounting, callback
}

// Controlled holds Depot's controlled-download keys of storage.conf (docs/controlled-downloads.md).
// Sizes and rates take K, M and G suffixes; durations are whole seconds.
type Controlled struct {
	AuthRequestURL      string        // http.auth_request.url: asked before serving ("" = off)
	AuthRequestTimeout  time.Duration // http.auth_request.timeout (5 s); past it the answer is 503
	AuthRequestCacheTTL time.Duration // http.auth_request.cache_ttl (0 = ask every time)

	XAccelPrefix   string        // http.x_accel.prefix: request paths proxied to the app ("" = off)
	XAccelUpstream string        // http.x_accel.upstream: the app's base URL
	XAccelTimeout  time.Duration // http.x_accel.timeout (10 s): connect and response headers

	LimitRate      int64 // http.limit_rate: bytes/s per connection (0 = none)
	LimitRateAfter int64 // http.limit_rate_after: bytes of a response sent before limit_rate applies
	UserLimitRate  int64 // http.user_limit_rate: bytes/s shared by all connections of one user (0 = none)

	Accounting           bool          // http.accounting.enabled (on by itself when a callback is set)
	AccountingWindow     time.Duration // http.accounting.window (7 days)
	AccountingMaxEntries int           // http.accounting.max_entries (1,000,000 user-file pairs)

	CallbackURL      string        // http.completion_callback.url ("" = off)
	CallbackTimeout  time.Duration // http.completion_callback.timeout (10 s per POST)
	CallbackQueueMax int           // http.completion_callback.queue_max (100,000 events)

	StatsEnabled          bool   // http.stats.enabled: daily statistics, /event.png and /stats
	StatsAllowReferers    string // http.stats.allow_referers: host names for /stats and /event.png ("" = all)
	StatsMaxDays          int    // http.stats.max_days: longest /stats range (366)
	DownloadAllowReferers string // http.download.allow_referers: host names for downloads ("" = all; none = no Referer)
}

// Storage is storage.conf. Durations are whole seconds in the file unless noted.
type Storage struct {
	Path string // the file it was loaded from; relative names resolve against its directory

	GroupName          string
	BindAddr           string
	ClientBind         bool
	Port               int
	ConnectTimeout     time.Duration
	NetworkTimeout     time.Duration
	HeartBeatInterval  time.Duration
	StatReportInterval time.Duration
	BasePath           string
	MaxConnections     int
	BuffSize           int64
	DiskRWSeparated    bool
	DiskReaderThreads  int
	DiskWriterThreads  int
	SyncMinThreads     int
	SyncMaxThreads     int           // 0 = auto (2 × store path count)
	SyncWait           time.Duration // sync_wait_msec, milliseconds
	SyncInterval       time.Duration // sync_interval, milliseconds
	SyncStartTime      TimeOfDay
	SyncEndTime        TimeOfDay
	WriteMarkFileFreq  int
	StorePaths         []StorePath
	SubdirCountPerPath int
	TrackerServers     []string // host:port, one per tracker_server line; none = standalone
	LogLevel           string
	AllowHosts         []string // allow_hosts values as written
	AllowHostsAt       []string // "file:line" of each AllowHosts value, for errors

	FileDistributePathMode    int
	FileDistributeRotateCount int
	FsyncAfterWrittenBytes    int64
	SyncBinlogBuffInterval    time.Duration
	SyncStatFileInterval      time.Duration
	UploadPriority            int
	IfAliasPrefix             string
	FileSyncSkipInvalidRecord bool
	UseConnectionPool         bool
	ConnectionPoolMaxIdleTime time.Duration
	CompressBinlog            bool
	CompressBinlogTime        TimeOfDay
	CheckStorePathMark        bool

	// Normally pushed by the tracker; read here for a standalone storage.
	UseStorageID          bool
	StorageIDsFilename    string
	ServerID              string // server_id (FastDFS 6.11+)
	StoreSlaveFileUseLink bool
	ReservedStorageSpace  Reserved

	LogFiles LogRotation // log_file_*: rotation of the access log

	// StopTimeout (stop_timeout, Depot) is how long a stop (SIGTERM) waits for requests in
	// flight before it closes their connections (30 s; 0 = close them at once).
	StopTimeout time.Duration

	// TLS is tls_cert_file and tls_key_file (gRPC over TLS on port) and tls_ca_file (the CAs
	// trusted for trackers and peer storages, which a node with TLS reaches over TLS).
	TLS TLS

	HTTP StorageHTTP
}

// DefaultStorage returns the values used for keys absent from storage.conf.
func DefaultStorage() Storage {
	return Storage{
		ClientBind:                true,
		Port:                      23000,
		ConnectTimeout:            10 * time.Second,
		NetworkTimeout:            30 * time.Second,
		HeartBeatInterval:         30 * time.Second,
		StatReportInterval:        300 * time.Second,
		MaxConnections:            256,
		BuffSize:                  256 << 10,
		DiskRWSeparated:           true,
		DiskReaderThreads:         1,
		DiskWriterThreads:         1,
		SyncMinThreads:            1,
		SyncWait:                  100 * time.Millisecond,
		SyncEndTime:               TimeOfDay{Hour: 23, Minute: 59},
		WriteMarkFileFreq:         500,
		SubdirCountPerPath:        256,
		LogLevel:                  "info",
		FileDistributeRotateCount: 100,
		SyncBinlogBuffInterval:    60 * time.Second,
		SyncStatFileInterval:      60 * time.Second,
		UploadPriority:            10,
		ConnectionPoolMaxIdleTime: 3600 * time.Second,
		CompressBinlogTime:        TimeOfDay{Hour: 1, Minute: 30},
		CheckStorePathMark:        true,
		ReservedStorageSpace:      Reserved{Bytes: 1024 << 20},
		LogFiles:                  DefaultLogRotation(),
		StopTimeout:               30 * time.Second,
		HTTP:                      StorageHTTP{ServerPort: 8888, Controlled: DefaultControlled()},
	}
}

// storageIgnored are FastDFS storage.conf keys Depot accepts and does not use.
var storageIgnored = []string{
	"disabled", "address_family", "use_io_uring", "use_send_zc", "accept_threads",
	"work_threads", "disk_recovery_threads", "run_by_group", "run_by_user",
	"thread_stack_size", "check_file_duplicate", "file_signature_method", "key_namespace",
	"keep_alive", "sync_log_buff_interval", "rotate_error_log", "error_log_rotate_time",
	"rotate_error_log_size", "rotate_access_log", "access_log_rotate_time",
	"rotate_access_log_size", "use_access_log", "http.domain_name", "min_buff_size",
	"max_buff_size", "storage_sync_file_max_delay",
}

// LoadStorage reads storage.conf at path: defaults, then the file, then Validate.
func LoadStorage(path string, log *slog.Logger) (*Storage, error) {
	s, _, err := LoadStorageValues(path, log)
	return s, err
}

func (s *Storage) bind(b *binder) {
	b.str("group_name", &s.GroupName)
	b.str("bind_addr", &s.BindAddr)
	b.boolean("client_bind", &s.ClientBind)
	b.integer("port", &s.Port)
	b.seconds("connect_timeout", &s.ConnectTimeout)
	b.seconds("network_timeout", &s.NetworkTimeout)
	b.seconds("heart_beat_interval", &s.HeartBeatInterval)
	b.seconds("stat_report_interval", &s.StatReportInterval)
	b.str("base_path", &s.BasePath)
	b.integer("max_connections", &s.MaxConnections)
	b.size("buff_size", &s.BuffSize)
	b.boolean("disk_rw_separated", &s.DiskRWSeparated)
	b.integer("disk_reader_threads", &s.DiskReaderThreads)
	b.integer("disk_writer_threads", &s.DiskWriterThreads)
	b.integer("sync_min_threads", &s.SyncMinThreads)
	if e, ok := b.value("sync_max_threads"); ok && !strings.EqualFold(e.Value, "auto") {
		b.integer("sync_max_threads", &s.SyncMaxThreads)
	}
	b.millis("sync_wait_msec", &s.SyncWait)
	b.millis("sync_interval", &s.SyncInterval)
	b.clock("sync_start_time", &s.SyncStartTime)
	b.clock("sync_end_time", &s.SyncEndTime)
	b.integer("write_mark_file_freq", &s.WriteMarkFileFreq)
	s.StorePaths = b.storePaths(s.BasePath)
	b.integer("subdir_count_per_path", &s.SubdirCountPerPath)
	b.addrs("tracker_server", &s.TrackerServers)
	b.str("log_level", &s.LogLevel)
	b.list("allow_hosts", &s.AllowHosts)
	for _, e := range b.d.all(b.section, "allow_hosts") {
		if e.Value != "" {
			s.AllowHostsAt = append(s.AllowHostsAt, fmt.Sprintf("%s:%d", e.File, e.Line))
		}
	}
	b.integer("file_distribute_path_mode", &s.FileDistributePathMode)
	b.integer("file_distribute_rotate_count", &s.FileDistributeRotateCount)
	b.size("fsync_after_written_bytes", &s.FsyncAfterWrittenBytes)
	b.seconds("sync_binlog_buff_interval", &s.SyncBinlogBuffInterval)
	b.seconds("sync_stat_file_interval", &s.SyncStatFileInterval)
	b.integer("upload_priority", &s.UploadPriority)
	b.str("if_alias_prefix", &s.IfAliasPrefix)
	b.boolean("file_sync_skip_invalid_record", &s.FileSyncSkipInvalidRecord)
	b.boolean("use_connection_pool", &s.UseConnectionPool)
	b.seconds("connection_pool_max_idle_time", &s.ConnectionPoolMaxIdleTime)
	b.boolean("compress_binlog", &s.CompressBinlog)
	b.clock("compress_binlog_time", &s.CompressBinlogTime)
	b.boolean("check_store_path_mark", &s.CheckStorePathMark)
	b.boolean("use_storage_id", &s.UseStorageID)
	b.str("storage_ids_filename", &s.StorageIDsFilename)
	b.str("server_id", &s.ServerID)
	b.boolean("store_slave_file_use_link", &s.StoreSlaveFileUseLink)
	b.reserved("reserved_storage_space", &s.ReservedStorageSpace)
	s.LogFiles.bind(b)
	b.seconds("stop_timeout", &s.StopTimeout)
	b.integer("http.server_port", &s.HTTP.ServerPort)
	b.str("http.access_log", &s.HTTP.AccessLog)
	if !b.has("http.access_log") && s.BasePath != "" {
		s.HTTP.AccessLog = filepath.Join(s.BasePath, "logs", "access.log")
	}
	b.str("http.access_log_format", &s.HTTP.AccessLogFormat)
	b.str("http.mod_fastdfs_conf", &s.HTTP.ModFastDFSConf)
	b.str("http.advertise_url", &s.HTTP.AdvertiseURL)
	b.integer("http.admin_port", &s.HTTP.AdminPort)
	s.TLS.bind(b, "tls_")
	s.HTTP.TLS.bind(b, "http.tls.")
	s.HTTP.Controlled.bind(b)
	b.ignore(storageIgnored...)
	// FastDFS 6.13+ per-log sections; Depot logs through slog and ignores them.
	b.ignoreSection("error-log", "access-log")
}

// resolve makes relative file names absolute against dir, the directory of storage.conf.
func (s *Storage) resolve(dir string) {
	s.BasePath = resolvePath(dir, s.BasePath)
	for i := range s.StorePaths {
		s.StorePaths[i].Path = resolvePath(dir, s.StorePaths[i].Path)
	}
	s.StorageIDsFilename = resolvePath(dir, s.StorageIDsFilename)
	s.TLS.resolve(dir)
	s.HTTP.TLS.resolve(dir)
	if s.HTTP.AccessLog == "off" {
		s.HTTP.AccessLog = ""
	}
	s.HTTP.AccessLog = resolvePath(dir, s.HTTP.AccessLog)
	if s.HTTP.ModFastDFSConf != "" {
		s.HTTP.ModFastDFSConf = resolvePath(dir, s.HTTP.ModFastDFSConf)
	} else if p := filepath.Join(dir, "mod_fastdfs.conf"); fileExists(p) {
		s.HTTP.ModFastDFSConf = p
	}
}

// groupNameRE is what Depot accepts as a group name (FastDFS: at most 16 bytes).
var groupNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

// Validate checks s. It does not touch the file system.
func (s *Storage) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if s.BasePath == "" {
		add(required("base_path"))
	}
	if s.GroupName != "" && !groupNameRE.MatchString(s.GroupName) {
		add(keyErr("group_name", invalid("group name (1..16 of A-Z a-z 0-9 _ -)", s.GroupName)))
	}
	if s.GroupName == "" && len(s.TrackerServers) == 0 {
		add(keyErr("group_name", fmt.Errorf("needed without tracker_server: %w", ErrRequired)))
	}
	add(checkPort("port", s.Port))
	add(checkPort("http.server_port", s.HTTP.ServerPort))
	if s.HTTP.ServerPort == s.Port {
		add(keyErr("http.server_port", invalid("port (same as port)", fmt.Sprint(s.Port))))
	}
	add(checkAdminPort(s.HTTP.AdminPort, map[string]int{"port": s.Port, "http.server_port": s.HTTP.ServerPort}))
	add(s.TLS.validate("tls_"))
	add(s.HTTP.TLS.validate("http.tls."))
	if len(s.StorePaths) < 1 || len(s.StorePaths) > maxStorePaths {
		add(keyErr("store_path_count", invalid("store path count", fmt.Sprint(len(s.StorePaths)))))
	}
	for i, p := range s.StorePaths {
		if p.Path == "" {
			add(required(fmt.Sprintf("store_path%d", i)))
		}
	}
	if s.SubdirCountPerPath < 1 || s.SubdirCountPerPath > 256 {
		add(keyErr("subdir_count_per_path", invalid("count (want 1..256)", fmt.Sprint(s.SubdirCountPerPath))))
	}
	if s.FileDistributePathMode != 0 && s.FileDistributePathMode != 1 {
		add(keyErr("file_distribute_path_mode", invalid("mode (want 0 or 1)", fmt.Sprint(s.FileDistributePathMode))))
	}
	if s.FileDistributeRotateCount < 1 {
		add(keyErr("file_distribute_rotate_count", invalid("count (want >= 1)", fmt.Sprint(s.FileDistributeRotateCount))))
	}
	for _, t := range s.TrackerServers {
		if err := CheckHostPort(t); err != nil {
			add(keyErr("tracker_server", err))
		}
	}
	if s.UseStorageID && s.StorageIDsFilename == "" {
		add(keyErr("storage_ids_filename", fmt.Errorf("needed with use_storage_id: %w", ErrRequired)))
	}
	if s.ServerID != "" && !validServerID(s.ServerID) {
		add(keyErr("server_id", invalid("storage id (want 1..16777215, no leading zeros)", s.ServerID)))
	}
	add(checkLogLevel("log_level", s.LogLevel))
	if u := s.HTTP.AdvertiseURL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			add(keyErr("http.advertise_url", invalid("URL (want http://host[:port])", u)))
		}
	}
	add(checkAccessLogFormat(s.HTTP.AccessLogFormat))
	errs = append(errs, s.LogFiles.validate()...)
	errs = append(errs, s.HTTP.Controlled.validate()...)
	return errors.Join(errs...)
}

// resolvePath makes p absolute against dir; "" stays "".
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
