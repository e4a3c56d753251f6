package storage

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/httpd"
)

// httpConfig maps storage.conf and mod_fastdfs.conf onto the HTTP module's config. It
// opens the access log; the caller closes the returned closer.
func (s *Server) httpConfig() (httpd.Config, io.Closer, error) {
	sc := s.cfg.Storage
	mod := s.cfg.Mod
	if mod == nil {
		d := conf.DefaultMod()
		d.GroupName = sc.GroupName
		d.URLHaveGroupName = true
		mod = &d
	}
	hc := mod.HTTP
	cfg := httpd.Config{
		URLHaveGroupName: mod.URLHaveGroupName,
		MultiRange:       hc.MultiRangeEnabled,
		MaxRanges:        hc.MultiRangeMaxRanges,
		DefaultType:      hc.DefaultContentType,
		SyncFileMaxDelay: mod.StorageSyncFileMaxDelay,
		FLV:              mod.FLVSupport,
		FLVExtension:     mod.FLVExtension,
		IsSelf:           s.ident.IsSelf,
		Logger:           s.log.With("component", "http"),
	}
	if s.reporter != nil {
		cfg.SourceURL = s.fetchURL // the source, or another member that has the file (replica.go)
	}
	if mod.LoadFDFSParametersFromTracker {
		s.applyTrackerParams(&cfg, mod)
	}
	if hc.MimeTypesFilename != "" {
		// A configured mime.types wins; otherwise the module's built-in map, which matches
		// what nginx sent in front of FastDFS.
		cfg.MimeTypes = hc.MimeTypes
	}
	if mod.ResponseMode == conf.ResponseRedirect {
		cfg.ResponseMode = httpd.Redirect
	}
	if !hc.Disabled {
		as := hc.AntiSteal
		cfg.Token = httpd.TokenConfig{
			Check:          as.CheckToken,
			Secret:         as.SecretKey,
			TTL:            as.TokenTTL,
			RefuseZeroTS:   as.RefuseZeroTS,
			RefuseFutureTS: as.RefuseFutureTS,
			FutureSkew:     as.FutureSkew,
			CheckFailFile:  as.TokenCheckFail,
			BypassHeader:   mod.AntiStealBypassHeaderName,
			BypassValue:    mod.AntiStealBypassHeaderValue,
			RefuseMD5:      as.RefuseMD5Token,
		}
	}
	ctl := sc.HTTP.Controlled
	cfg.AuthRequest = httpd.AuthRequestConfig{
		URL:      ctl.AuthRequestURL,
		Timeout:  ctl.AuthRequestTimeout,
		CacheTTL: ctl.AuthRequestCacheTTL,
	}
	cfg.XAccel = httpd.XAccelConfig{
		Prefix:   ctl.XAccelPrefix,
		Upstream: ctl.XAccelUpstream,
		Timeout:  ctl.XAccelTimeout,
	}
	cfg.Groups = append(cfg.Groups, httpd.Group{Name: sc.GroupName, Store: s.store, StorePathCount: len(sc.StorePaths)})
	for _, g := range mod.Groups {
		if g.GroupName == sc.GroupName {
			continue
		}
		// Another group's store paths on this host (a multi-group mod_fastdfs.conf): served
		// read-only, as the FastDFS module does.
		paths := make([]disk.PathConfig, len(g.StorePaths))
		for i, p := range g.StorePaths {
			paths[i] = disk.PathConfig{Dir: p.Path, ReadOnly: true}
		}
		st, err := disk.Open(disk.Options{Group: g.GroupName, Paths: paths, Logger: s.log})
		if err != nil {
			return cfg, nil, fmt.Errorf("mod_fastdfs.conf group %q: %w", g.GroupName, err)
		}
		s.extra = append(s.extra, st)
		cfg.Groups = append(cfg.Groups, httpd.Group{Name: g.GroupName, Store: st, StorePathCount: len(paths)})
	}
	if len(cfg.Groups) > 1 {
		cfg.URLHaveGroupName = true
	}
	var closer io.Closer
	if path := sc.HTTP.AccessLog; path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return cfg, nil, fmt.Errorf("http.access_log %q: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return cfg, nil, fmt.Errorf("http.access_log %q: %w", path, err)
		}
		cfg.AccessLog, closer = f, f
	}
	return cfg, closer, nil
}
