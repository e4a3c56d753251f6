package httpd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/logformat"
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("httpd: invalid config")

// Opener opens a stored file for reading. It is safe for concurrent use; every call returns a
// fresh *os.File that the caller owns and closes. A missing file is an error wrapping
// disk.ErrNotFound.
type Opener interface {
	Open(id fileid.ID) (disk.File, error)
}

var _ Opener = (*disk.Store)(nil)

// Group is one group this node serves (mod_fastdfs.conf group_name, or a [groupN] section).
type Group struct {
	Name           string
	Store          Opener
	StorePathCount int // store_path_count: an ID naming M<n> with n >= this is 400
}

// TokenConfig is the anti-steal token check (http.anti_steal.*).
type TokenConfig struct {
	Check  bool   // http.anti_steal.check_token
	Secret string // http.anti_steal.secret_key
	TTL    time.Duration
	// RefuseZeroTS refuses ts=0, which FastDFS accepts as "never expires".
	RefuseZeroTS bool
	// RefuseFutureTS refuses ts later than now+FutureSkew, which FastDFS accepts.
	RefuseFutureTS bool
	FutureSkew     time.Duration
	// CheckFailFile is http.anti_steal.token_check_fail: served with 200 when a token is bad.
	// It is read by New and by each SetLive.
	CheckFailFile string
	// BypassHeader / BypassValue: a request carrying this header with exactly this value
	// skips the check (anti_steal_bypass_header_name / _value). Empty name = off.
	BypassHeader, BypassValue string
	// RefuseMD5 (http.anti_steal.refuse_md5_token) refuses FastDFS md5 tokens while Check is
	// on: only Depot's signed URLs (a query with sig=, package token) pass.
	RefuseMD5 bool
}

// Mode is response_mode: what to do with a file that is not here yet.
type Mode uint8

// Response modes.
const (
	Proxy    Mode = iota // fetch from the source node and stream the answer (FastDFS default)
	Redirect             // 302 to the source node
)

// Config configures a Handler. All values are already parsed; zero values take the defaults
// noted on each field.
type Config struct {
	Groups []Group // at least one; Groups[0] is the group of URLs without a group segment
	// URLHaveGroupName: URLs are "/group1/M00/…" (true) or "/M00/…" (false; one group only).
	URLHaveGroupName bool
	Token            TokenConfig
	MultiRange       bool // http.multi_range.enabled: more than one range → multipart/byteranges
	MaxRanges        int  // ranges per request; 0 = 64. More is 416.
	// FLV enables FLV pseudo-streaming (flv_support): a request without Range for a file whose
	// extension is exactly FLVExtension (flv_extension; "" = "flv") and with ?start=N (and
	// optional exclusive ?end=M) gets 200 with those bytes, prefixed by the 13-byte FLV header
	// when N > 0. Bad values are 400.
	FLV          bool
	FLVExtension string
	// MimeTypes maps an extension (without dot) to a media type; nil = a built-in map with the
	// entries of nginx's mime.types. Lookups try the extension as written, then lower-cased.
	MimeTypes   map[string]string
	DefaultType string // 0 = application/octet-stream
	// ResponseMode and SyncFileMaxDelay (storage_sync_file_max_delay; 0 = 24h) decide what
	// happens to a file missing here.
	ResponseMode     Mode
	SyncFileMaxDelay time.Duration
	// IsSelf reports whether the ID's source is this node; such a miss is 404. Nil = never.
	IsSelf func(id fileid.ID) bool
	// SourceURL returns the base URL ("http://10.0.0.2:8080", no trailing slash) of the ID's
	// source node. Nil or !ok falls back to <request scheme>://<source IPv4>:<local port>.
	SourceURL func(id fileid.ID) (baseURL string, ok bool)
	// ProxyTimeout bounds connecting to the source and waiting for its response headers
	// (0 = 10s); a source that is down gives 502, one that is slow 504.
	ProxyTimeout time.Duration
	// ProxyTransport replaces the pooled proxy transport (tests). Nil = a keep-alive pool.
	ProxyTransport http.RoundTripper
	// ProxyTLS is the client TLS config for source nodes served over https (the CA that
	// signed their certificates: http.tls.ca_file). Nil = the system's roots.
	ProxyTLS *tls.Config
	// AccessLog receives one line per request, in AccessLogFormat; nil = off. Lines are written
	// by a background goroutine, whole lines per Write (a rotating file may rotate between two
	// writes); when its buffer is full lines are dropped and counted
	// (Handler.DroppedLogLines), a download never waits for the log.
	AccessLog io.Writer
	// AccessLogFormat is an nginx log_format string (package logformat, docs/logs.md); "" =
	// logformat.Default, nginx's "combined" plus the request time. With $depot_bytes_acked or
	// $request_completion, the line of a response with a body is written once the client
	// acknowledged the body (or stopped) on a server that tells (fastsrv).
	AccessLogFormat string
	// AccessLogBuffer is the number of lines that may wait for the writer (0 = 4096).
	AccessLogBuffer int
	AuthRequest     AuthRequestConfig // delegated auth (authreq.go); off by default
	XAccel          XAccelConfig      // app-decided downloads (xaccel.go); off by default
	Logger          *slog.Logger      // nil = discard
	Now             func() time.Time  // nil = time.Now

	// LimitRate is nginx's limit_rate: bytes/s for each response once LimitRateAfter bytes of
	// it went out (0 = none).
	LimitRate, LimitRateAfter int64
	// UserLimitRate is bytes/s shared by all connections of one user (0 = none); a grant's
	// rate (signed URL, auth answer, X-Accel-Limit-Rate) replaces it for that user.
	UserLimitRate int64
	// Accounting receives, per response with a body, the file ranges the client acknowledged
	// (on a server whose ResponseWriter is a fastsrv.AckWatcher; others report nothing).
	// Nil = off.
	Accounting *accounting.Accountant
	// Routes answer these exact paths (the statistics' /event.png and /stats) before the
	// file-ID flow, access-logged like downloads. Nil = none.
	Routes map[string]http.Handler
	// DownloadReferers, when set, admits a file download only when it returns true for the
	// request's Referer ("" when none); a refused one is 403 (http.download.allow_referers).
	DownloadReferers func(referer string) bool
}

func (c *Config) setDefaults() {
	if c.MaxRanges == 0 {
		c.MaxRanges = 64
	}
	if c.FLVExtension == "" {
		c.FLVExtension = "flv"
	}
	if c.DefaultType == "" {
		c.DefaultType = "application/octet-stream"
	}
	if c.SyncFileMaxDelay == 0 {
		c.SyncFileMaxDelay = 24 * time.Hour
	}
	if c.ProxyTimeout == 0 {
		c.ProxyTimeout = 10 * time.Second
	}
	if c.AccessLogBuffer == 0 {
		c.AccessLogBuffer = 4096
	}
	if c.AccessLogFormat == "" {
		c.AccessLogFormat = logformat.Default
	}
	c.AuthRequest.setDefaults()
	c.XAccel.setDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IsSelf == nil {
		c.IsSelf = func(fileid.ID) bool { return false }
	}
}

// validate checks c after setDefaults.
func (c *Config) validate() error {
	if len(c.Groups) == 0 {
		return fmt.Errorf("%w: no group", ErrConfig)
	}
	if len(c.Groups) > 1 && !c.URLHaveGroupName {
		return fmt.Errorf("%w: %d groups need url_have_group_name = true", ErrConfig, len(c.Groups))
	}
	seen := make(map[string]bool, len(c.Groups))
	for i, g := range c.Groups {
		if err := fileid.ValidGroup(g.Name); err != nil {
			return fmt.Errorf("%w: group %d name %q: %w", ErrConfig, i, g.Name, err)
		}
		if seen[g.Name] {
			return fmt.Errorf("%w: group %q configured twice", ErrConfig, g.Name)
		}
		seen[g.Name] = true
		if g.Store == nil {
			return fmt.Errorf("%w: group %q has no store", ErrConfig, g.Name)
		}
		if g.StorePathCount < 1 || g.StorePathCount > 256 {
			return fmt.Errorf("%w: group %q store_path_count %d not in 1..256", ErrConfig, g.Name, g.StorePathCount)
		}
	}
	live := c.live()
	if err := live.validate(); err != nil {
		return err
	}
	if c.MaxRanges < 1 {
		return fmt.Errorf("%w: max ranges %d must be >= 1", ErrConfig, c.MaxRanges)
	}
	if c.SyncFileMaxDelay < 0 || c.ProxyTimeout < 0 || c.AccessLogBuffer < 0 {
		return fmt.Errorf("%w: negative duration or buffer size", ErrConfig)
	}
	if err := c.AuthRequest.validate(); err != nil {
		return err
	}
	return c.XAccel.validate(c)
}

// checkBaseURL checks an http(s) URL with a host, for the error message of key.
func checkBaseURL(key, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s %q: want http://host[:port][/path]", ErrConfig, key, raw)
	}
	return nil
}

// loadCheckFail reads the token_check_fail file; FastDFS refuses to start when it is missing.
func loadCheckFail(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: token_check_fail file: %w", ErrConfig, err)
	}
	return b, nil
}
