package storage

import (
	"fmt"
	"strings"

	"github.com/depotfs/depot/internal/allowhosts"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/stats"
)

// Effect is what a change of one configuration key does to a running node.
type Effect int

// Effects of a changed key.
const (
	// Restart: the node keeps the value it started with until it is started again.
	Restart Effect = iota
	// Live: Reload applies it (log_level: the command, through the level of its logger).
	Live
	// Unused: read for compatibility with FastDFS's files; no part of the node uses it.
	Unused
)

// String returns "restart", "live" or "unused".
func (e Effect) String() string {
	switch e {
	case Live:
		return "live"
	case Unused:
		return "unused"
	}
	return "restart"
}

// liveStorageKeys are the storage.conf keys Reload applies.
var liveStorageKeys = map[string]Effect{
	"log_level":                    Live,
	"stop_timeout":                 Live,
	"http.limit_rate":              Live,
	"http.limit_rate_after":        Live,
	"http.user_limit_rate":         Live,
	"http.download.allow_referers": Live,
	"http.stats.allow_referers":    Live,
	"tls_cert_file":                Live, // the files are reread at every reload (tls.go)
	"tls_key_file":                 Live,
	"http.tls.cert_file":           Live,
	"http.tls.key_file":            Live,
	"allow_hosts":                  Live,
}

// liveModKeys are the mod_fastdfs.conf (and included http.conf) keys Reload applies.
var liveModKeys = map[string]Effect{
	"response_mode":                    Live,
	"anti_steal_bypass_header_name":    Live,
	"anti_steal_bypass_header_value":   Live,
	"http.anti_steal.check_token":      Live,
	"http.anti_steal.secret_key":       Live,
	"http.anti_steal.token_ttl":        Live,
	"http.anti_steal.token_check_fail": Live,
	"http.anti_steal.refuse_zero_ts":   Live,
	"http.anti_steal.refuse_future_ts": Live,
	"http.anti_steal.future_skew":      Live,
	"http.anti_steal.refuse_md5_token": Live,
	"log_level":                        Unused, // storage.conf's log_level is the node's
	"log_filename":                     Unused, // the node logs to stderr
}

// KeyEffect tells what a change of key (named as conf.Values names it) does to a running
// node: in mod_fastdfs.conf when mod is true, else in storage.conf.
func KeyEffect(mod bool, key string) Effect {
	m := liveStorageKeys
	if mod {
		m = liveModKeys
	}
	return m[key] // absent: Restart
}

// LiveKeys returns the keys Reload applies, storage.conf's then mod_fastdfs.conf's (docs).
func LiveKeys() (storageConf, modConf []string) {
	for _, f := range []struct {
		m   map[string]Effect
		out *[]string
	}{{liveStorageKeys, &storageConf}, {liveModKeys, &modConf}} {
		for k, e := range f.m {
			if e == Live {
				*f.out = append(*f.out, k)
			}
		}
	}
	return storageConf, modConf
}

// Reload applies the values of sc and mod (nil: the module's defaults) that may change while
// the node serves (KeyEffect Live): response_mode, the anti-steal check, the rate limits, the
// Referer allow-lists, allow_hosts and stop_timeout, and it rereads the TLS certificate files
// (renewed in place or renamed) for the handshakes that start from now on. Downloads in flight
// finish under the settings they started with; allow_hosts applies to the calls that start
// from then on. Other values are ignored: they take effect at the next start. On error (a
// setting the HTTP module refuses, a token_check_fail file it cannot read, an allow_hosts line
// that does not parse or resolve, named by file:line, a certificate that does not load)
// nothing changes.
func (s *Server) Reload(sc conf.Storage, mod *conf.Mod) error {
	m := modOrDefault(&sc, mod)
	allow, err := allowhosts.ParseAt(sc.AllowHosts, sc.AllowHostsAt, allowhosts.Lookup)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	useCerts, err := s.reloadTLS(&sc)
	if err != nil {
		return fmt.Errorf("reload %s: %w", strings.Join(confFiles(&sc, mod), ", "), err)
	}
	if err := s.handler.SetLive(httpLive(&sc, m)); err != nil {
		return fmt.Errorf("reload %s: %w", strings.Join(confFiles(&sc, mod), ", "), err)
	}
	useCerts()
	s.allow.Set(allow)
	if s.ctl.api != nil {
		s.ctl.api.SetReferers(stats.ParseReferers(sc.HTTP.Controlled.StatsAllowReferers))
	}
	s.stopTimeout.Store(int64(sc.StopTimeout))
	return nil
}

// HTTPLive returns the HTTP module's live settings in force.
func (s *Server) HTTPLive() httpd.Live { return s.handler.Live() }

// confFiles names the files sc and mod came from, for messages.
func confFiles(sc *conf.Storage, mod *conf.Mod) []string {
	var out []string
	if sc.Path != "" {
		out = append(out, sc.Path)
	}
	if mod != nil && mod.Path != "" {
		out = append(out, mod.Path)
	}
	return out
}
