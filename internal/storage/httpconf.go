package storage

import (
	"fmt"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/logfile"
	"github.com/depotfs/depot/internal/stats"
)

// httpConfig maps storage.conf and mod_fastdfs.conf onto the HTTP module's config. It
// opens the access log (nil when off); the caller closes it.
func (s *Server) httpConfig() (httpd.Config, *logfile.Writer, error) {
	sc := s.cfg.Storage
	mod := modOrDefault(&sc, s.cfg.Mod)
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
	pt, err := proxyTLS(&sc)
	if err != nil {
		return cfg, nil, err
	}
	cfg.ProxyTLS = pt
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
	live := httpLive(&sc, mod)
	cfg.ResponseMode, cfg.Token = live.ResponseMode, live.Token
	cfg.LimitRate, cfg.LimitRateAfter, cfg.UserLimitRate = live.LimitRate, live.LimitRateAfter, live.UserLimitRate
	cfg.DownloadReferers = live.DownloadReferers
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
	cfg.AccessLogFormat = sc.HTTP.AccessLogFormat
	if sc.HTTP.AccessLog == "" {
		return cfg, nil, nil
	}
	lw, err := s.openAccessLog()
	if err != nil {
		return cfg, nil, err
	}
	cfg.AccessLog = lw
	return cfg, lw, nil
}

// modOrDefault is mod, or without one the module's defaults for the node's group.
func modOrDefault(sc *conf.Storage, mod *conf.Mod) *conf.Mod {
	if mod != nil {
		return mod
	}
	d := conf.DefaultMod()
	d.GroupName = sc.GroupName
	d.URLHaveGroupName = true
	return &d
}

// httpLive maps the keys of storage.conf and mod_fastdfs.conf that may change while the node
// serves onto the HTTP module's live settings (New and Reload).
func httpLive(sc *conf.Storage, mod *conf.Mod) httpd.Live {
	c := sc.HTTP.Controlled
	l := httpd.Live{LimitRate: c.LimitRate, LimitRateAfter: c.LimitRateAfter, UserLimitRate: c.UserLimitRate}
	if refs := stats.ParseReferers(c.DownloadAllowReferers); len(refs) > 0 {
		l.DownloadReferers = refs.Allows
	}
	if mod.ResponseMode == conf.ResponseRedirect {
		l.ResponseMode = httpd.Redirect
	}
	if hc := mod.HTTP; !hc.Disabled {
		as := hc.AntiSteal
		l.Token = httpd.TokenConfig{
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
	return l
}

// openAccessLog opens http.access_log as a file that rotates as the log_file_* keys say.
func (s *Server) openAccessLog() (*logfile.Writer, error) {
	sc := s.cfg.Storage
	lr := sc.LogFiles
	minutes := func(t conf.TimeOfDay) time.Duration { return time.Duration(t.Minutes()) * time.Minute }
	lw, err := logfile.Open(logfile.Options{
		Path:               sc.HTTP.AccessLog,
		RotateDaily:        lr.RotateEveryday,
		RotateAt:           minutes(lr.RotateTime),
		RotateSize:         lr.RotateOnSize,
		KeepDays:           lr.KeepDays,
		Compress:           lr.CompressOld,
		CompressDaysBefore: lr.CompressDaysBefore,
		DeleteAt:           minutes(lr.DeleteOldTime),
		Now:                s.cfg.Now,
		Logger:             s.log.With("component", "accesslog"),
		Rotated:            s.importRotated,
	})
	if err != nil {
		return nil, fmt.Errorf("http.access_log %q: %w", sc.HTTP.AccessLog, err)
	}
	return lw, nil
}
