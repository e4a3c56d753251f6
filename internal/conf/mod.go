package conf

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// maxGroups is the most groups a FastDFS cluster has (FDFS_MAX_GROUPS).
const maxGroups = 512

// ResponseMode is what the download module does with a file not (yet) on this node.
type ResponseMode int

const (
	// ResponseProxy fetches the file from its source storage (FastDFS's default).
	ResponseProxy ResponseMode = iota
	// ResponseRedirect answers 302 to the source storage. Selected only by exactly "redirect".
	ResponseRedirect
)

// String returns "proxy" or "redirect".
func (m ResponseMode) String() string {
	if m == ResponseRedirect {
		return "redirect"
	}
	return "proxy"
}

// ModGroup is one group served by the download module: a [groupN] section in multi-group
// mode, or the global keys in single-group mode.
type ModGroup struct {
	GroupName         string
	StorageServerPort int
	StorePaths        []StorePath
}

// Mod is mod_fastdfs.conf with its http.* keys (normally from `#include http.conf`).
type Mod struct {
	Path string

	ConnectTimeout                time.Duration
	NetworkTimeout                time.Duration
	BasePath                      string
	LoadFDFSParametersFromTracker bool
	TrackerServers                []string
	StorageSyncFileMaxDelay       time.Duration
	UseStorageID                  bool
	StorageIDsFilename            string
	StorageServerPort             int
	GroupName                     string
	URLHaveGroupName              bool
	StorePaths                    []StorePath
	LogLevel                      string
	LogFilename                   string
	ResponseMode                  ResponseMode
	IfAliasPrefix                 string
	FLVSupport                    bool
	FLVExtension                  string
	GroupCount                    int
	// Groups has GroupCount entries from [group1]..[groupN]; in single-group mode
	// (GroupCount 0) it has one entry made of GroupName, StorageServerPort and StorePaths.
	Groups                     []ModGroup
	AntiStealBypassHeaderName  string
	AntiStealBypassHeaderValue string

	HTTP HTTPConf
}

// DefaultMod returns the values used for keys absent from mod_fastdfs.conf.
func DefaultMod() Mod {
	return Mod{
		ConnectTimeout:          10 * time.Second,
		NetworkTimeout:          30 * time.Second,
		StorageSyncFileMaxDelay: 86400 * time.Second,
		StorageServerPort:       23000,
		LogLevel:                "info",
		ResponseMode:            ResponseProxy,
		FLVExtension:            "flv",
		HTTP:                    DefaultHTTP(),
	}
}

// LoadMod reads mod_fastdfs.conf at path (and what it includes).
func LoadMod(path string, log *slog.Logger) (*Mod, error) {
	m, _, err := LoadModValues(path, log)
	return m, err
}

// resolve makes m's file names absolute against the directory of its file and loads what
// its http.* keys name.
func (m *Mod) resolve(b *binder) error {
	dir := b.d.dir()
	m.BasePath = resolvePath(dir, m.BasePath)
	m.StorageIDsFilename = resolvePath(dir, m.StorageIDsFilename)
	for gi := range m.Groups {
		for i := range m.Groups[gi].StorePaths {
			p := &m.Groups[gi].StorePaths[i]
			p.Path = resolvePath(dir, p.Path)
		}
	}
	if m.GroupCount == 0 && len(m.Groups) == 1 {
		m.StorePaths = m.Groups[0].StorePaths
	}
	return m.HTTP.resolve(b)
}

func (m *Mod) bind(b *binder) {
	b.seconds("connect_timeout", &m.ConnectTimeout)
	b.seconds("network_timeout", &m.NetworkTimeout)
	if m.ConnectTimeout <= 0 {
		m.ConnectTimeout = DefaultMod().ConnectTimeout
	}
	b.str("base_path", &m.BasePath)
	b.boolean("load_fdfs_parameters_from_tracker", &m.LoadFDFSParametersFromTracker)
	b.addrs("tracker_server", &m.TrackerServers)
	b.seconds("storage_sync_file_max_delay", &m.StorageSyncFileMaxDelay)
	b.boolean("use_storage_id", &m.UseStorageID)
	b.str("storage_ids_filename", &m.StorageIDsFilename)
	b.integer("storage_server_port", &m.StorageServerPort)
	b.str("group_name", &m.GroupName)
	b.boolean("url_have_group_name", &m.URLHaveGroupName)
	b.str("log_level", &m.LogLevel)
	b.str("log_filename", &m.LogFilename)
	var mode string
	b.str("response_mode", &mode)
	if mode == "redirect" {
		m.ResponseMode = ResponseRedirect
	}
	b.str("if_alias_prefix", &m.IfAliasPrefix)
	b.boolean("flv_support", &m.FLVSupport)
	b.str("flv_extension", &m.FLVExtension)
	b.integer("group_count", &m.GroupCount)
	b.str("anti_steal_bypass_header_name", &m.AntiStealBypassHeaderName)
	b.str("anti_steal_bypass_header_value", &m.AntiStealBypassHeaderValue)
	m.HTTP.bind(b)
	if m.GroupCount <= 0 {
		m.StorePaths = b.storePaths(m.BasePath)
		m.Groups = []ModGroup{{GroupName: m.GroupName, StorageServerPort: m.StorageServerPort, StorePaths: m.StorePaths}}
		return
	}
	b.ignore("store_path_count") // global store paths are not used in multi-group mode
	if m.GroupCount > maxGroups {
		e, _ := b.get("group_count")
		b.fail(e, invalid(fmt.Sprintf("group count (want 0..%d)", maxGroups), e.Value))
		m.Groups = nil
		return
	}
	m.Groups = make([]ModGroup, m.GroupCount)
	for i := range m.Groups {
		g := &m.Groups[i]
		gb := b.in(fmt.Sprintf("group%d", i+1))
		g.StorageServerPort = 23000
		gb.str("group_name", &g.GroupName)
		gb.integer("storage_server_port", &g.StorageServerPort)
		g.StorePaths = gb.storePaths("") // no base_path fallback in multi-group mode
	}
}

// Validate checks m. It does not touch the file system.
func (m *Mod) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if m.BasePath == "" {
		add(required("base_path"))
	}
	if m.GroupCount < 0 {
		add(keyErr("group_count", invalid("count (want >= 0)", fmt.Sprint(m.GroupCount))))
	}
	if m.GroupCount == 0 && m.GroupName == "" {
		add(keyErr("group_name", fmt.Errorf("needed with group_count = 0: %w", ErrRequired)))
	}
	if m.GroupCount > 0 && !m.URLHaveGroupName {
		add(keyErr("url_have_group_name", fmt.Errorf("must be true with group_count > 0: %w", ErrInvalidValue)))
	}
	for i, g := range m.Groups {
		sec := ""
		if m.GroupCount > 0 {
			sec = fmt.Sprintf("[group%d] ", i+1)
		}
		if g.GroupName == "" && m.GroupCount > 0 {
			add(keyErr("group_name", fmt.Errorf("%s%w", sec, ErrRequired)))
		} else if g.GroupName != "" && !groupNameRE.MatchString(g.GroupName) {
			add(keyErr("group_name", fmt.Errorf("%s%w", sec, invalid("group name", g.GroupName))))
		}
		if err := checkPort("storage_server_port", g.StorageServerPort); err != nil {
			add(err)
		}
		for j, p := range g.StorePaths {
			if p.Path == "" {
				add(keyErr(fmt.Sprintf("store_path%d", j), fmt.Errorf("%s%w", sec, ErrRequired)))
			}
		}
	}
	if m.UseStorageID && !m.LoadFDFSParametersFromTracker && m.StorageIDsFilename == "" {
		add(keyErr("storage_ids_filename", fmt.Errorf("needed with use_storage_id: %w", ErrRequired)))
	}
	if m.LoadFDFSParametersFromTracker && len(m.TrackerServers) == 0 {
		add(keyErr("tracker_server", fmt.Errorf("needed with load_fdfs_parameters_from_tracker: %w", ErrRequired)))
	}
	add(checkLogLevel("log_level", m.LogLevel))
	add(m.HTTP.Validate())
	return errors.Join(errs...)
}
