package httpd

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/logformat"
)

// Handler serves file-ID URLs. It is safe for concurrent use.
type Handler struct {
	// cfg is the Config New was given; its Live part is zero: live holds it (live.go).
	cfg      Config
	live     atomic.Pointer[liveConfig] // loaded once per request (grant.live)
	mime     map[string][]string        // extension → one-element Content-Type value
	defType  []string
	proxy    *http.Client
	auth     *authorizer // nil when auth_request is off
	xaccel   *xaccelApp  // nil when x_accel is off
	log      *accessLog  // nil when off
	limited  sync.Pool   // *io.LimitedReader for sendBody
	sections sync.Pool   // *io.SectionReader for sendBody of a shared (file cache) file
	// caches[i] serves small normal files and trunk slices of cfg.Groups[i] from descriptors
	// kept open; nil when that group's Opener is not a *disk.Store.
	caches []*disk.FileCache
	users  userLimits // per-user token buckets
	// tallies pools the accounting records of watched responses (account.go).
	tallies sync.Pool
	counts  counters // totals for Counters
}

// cachedBodyMax is the largest file (by the size in its name) read through the file cache:
// small bodies, which fastsrv copies behind the header (its CopyBelow default); larger ones
// get a descriptor of their own for sendfile, whose cost dwarfs the open.
const cachedBodyMax = 16 << 10

// Constant header values, shared by every response (net/http only reads them).
var (
	hvBytes     = []string{"bytes"}
	hvNoStore   = []string{"no-store"}
	hvNosniff   = []string{"nosniff"}
	hvTextPlain = []string{"text/plain; charset=utf-8"}
	hvAllow     = []string{"GET, HEAD"}
)

// New checks cfg and returns a Handler. Close it to flush the access log.
func New(cfg Config) (*Handler, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	format, err := logformat.Compile(cfg.AccessLogFormat)
	if err != nil {
		return nil, fmt.Errorf("%w: access log: %w", ErrConfig, err)
	}
	h := &Handler{cfg: cfg}
	h.limited.New = func() any { return new(io.LimitedReader) }
	h.sections.New = func() any { return new(io.SectionReader) }
	h.tallies.New = func() any { return newTally(&h.tallies) }
	h.caches = make([]*disk.FileCache, len(cfg.Groups))
	for i, g := range cfg.Groups {
		if st, ok := g.Store.(*disk.Store); ok {
			h.caches[i] = disk.NewFileCache(st, 0, 0)
		}
	}
	types := cfg.MimeTypes
	if types == nil {
		types = builtinMIME()
	}
	h.mime = make(map[string][]string, len(types))
	for ext, t := range types {
		h.mime[ext] = []string{t}
	}
	h.defType = []string{cfg.DefaultType}
	lc, err := h.newLive(cfg.live())
	if err != nil {
		return nil, err
	}
	h.live.Store(lc)
	// The live settings are read from h.live only.
	h.cfg.ResponseMode, h.cfg.Token, h.cfg.DownloadReferers = 0, TokenConfig{}, nil
	h.cfg.LimitRate, h.cfg.LimitRateAfter, h.cfg.UserLimitRate = 0, 0, 0
	h.proxy = newProxyClient(cfg)
	if cfg.AuthRequest.URL != "" {
		h.auth = newAuthorizer(cfg.AuthRequest, cfg.Now, cfg.Logger)
	}
	if cfg.XAccel.Prefix != "" {
		h.xaccel = newXAccelApp(cfg.XAccel, cfg.Logger)
	}
	if cfg.AccessLog != nil {
		h.log = newAccessLog(cfg.AccessLog, cfg.AccessLogBuffer, format)
	}
	return h, nil
}

// Close stops the access-log writer after flushing the lines already queued, and drops the
// idle connections of the proxy, the auth service and the x-accel app. The Handler must not
// serve requests afterwards.
func (h *Handler) Close() error {
	h.proxy.CloseIdleConnections()
	if h.auth != nil {
		h.auth.client.CloseIdleConnections()
	}
	if h.xaccel != nil {
		h.xaccel.client.CloseIdleConnections()
	}
	for _, tc := range h.caches {
		if tc != nil {
			tc.Close()
		}
	}
	if h.log != nil {
		return h.log.close()
	}
	return nil
}

// DroppedLogLines returns how many access-log lines were dropped because the writer lagged.
func (h *Handler) DroppedLogLines() uint64 {
	if h.log == nil {
		return 0
	}
	return h.log.dropped.Load()
}

// ServeHTTP serves one download request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	gr := grant{live: h.live.Load()}
	if h.log == nil {
		h.counts.response(h.serve(w, r, &gr))
		return
	}
	start := time.Now()
	status, n := h.serve(w, r, &gr)
	h.counts.response(status, n)
	h.logRequest(w, r, &gr, status, n, start)
}

// serve runs the request flow (see the package doc) and returns the status and the number of
// body bytes written to the connection. gr receives what the request's credentials grant.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, gr *grant) (int, int64) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header()["Allow"] = hvAllow
		return h.fail(w, r, http.StatusMethodNotAllowed, "method not allowed: use GET or HEAD")
	}
	if len(r.RequestURI) > maxURI {
		return h.fail(w, r, http.StatusRequestURITooLong, "URI longer than 8192 bytes")
	}
	if h.cfg.Routes != nil {
		if rh, ok := h.cfg.Routes[r.URL.Path]; ok {
			return serveRoute(rh, w, r)
		}
	}
	if h.xaccel != nil && strings.HasPrefix(r.URL.Path, h.xaccel.prefix) {
		return h.serveXAccel(w, r, gr)
	}
	groupName, remote, ok := splitPath(r.URL.Path, h.cfg.URLHaveGroupName)
	if !ok {
		return h.fail(w, r, http.StatusBadRequest, "bad URL: want /<group>/M00/XX/YY/<name>")
	}
	if len(remote) < minRemote {
		return h.fail(w, r, http.StatusBadRequest, "bad URL: file id too short")
	}
	lc := gr.live
	if lc.DownloadReferers != nil && !lc.DownloadReferers(r.Header.Get("Referer")) {
		return h.fail(w, r, http.StatusForbidden, "referer not allowed (http.download.allow_referers)")
	}
	if lc.Token.Check {
		if status, msg, ok := h.checkToken(r, remote, gr); !ok {
			h.counts.tokenFailures.Add(1)
			if status == http.StatusOK {
				return h.serveCheckFail(w, r, lc)
			}
			return h.fail(w, r, status, msg)
		}
	} else {
		h.honourSigned(r, gr)
	}
	if h.auth != nil {
		if status, n, ok := h.authorize(w, r, gr); !ok {
			return status, n
		}
	}
	return h.serveStored(w, r, groupName, remote, gr)
}

// serveStored serves the remote file name of groupName ("" when the URL has none) for r,
// whose credentials were checked and gave gr.
func (h *Handler) serveStored(w http.ResponseWriter, r *http.Request, groupName, remote string, gr *grant) (int, int64) {
	g := h.group(groupName)
	if g != nil {
		groupName = g.Name
	} else if !h.cfg.URLHaveGroupName {
		groupName = h.cfg.Groups[0].Name
		g = &h.cfg.Groups[0]
	}
	id, err := fileid.ParseRemote(groupName, remote)
	if err != nil {
		return h.fail(w, r, http.StatusBadRequest, "bad file id: "+err.Error())
	}
	if g == nil { // a group this node does not serve: to its source, as a miss (spec §4.3 12)
		return h.notLocal(w, r, id, false, gr.live)
	}
	if id.StorePath() >= g.StorePathCount {
		return h.fail(w, r, http.StatusBadRequest, "bad file id: store path index out of range")
	}
	if tc := h.fileCache(g); tc != nil {
		if size, ok := id.Size(); ok && size <= cachedBodyMax {
			f, th, err := tc.Open(id)
			if err == nil {
				defer th.Release()
				return h.serveFile(w, r, id, f, true, gr)
			}
			if !errors.Is(err, disk.ErrNotCached) {
				return h.openFailed(w, r, id, err, gr.live)
			}
		}
	}
	f, err := g.Store.Open(id)
	if err != nil {
		return h.openFailed(w, r, id, err, gr.live)
	}
	defer f.F.Close()
	return h.serveFile(w, r, id, f, false, gr)
}

// openFailed answers a failed open of id: a missing file goes to notLocal, anything else is 500.
func (h *Handler) openFailed(w http.ResponseWriter, r *http.Request, id fileid.ID, err error, lc *liveConfig) (int, int64) {
	if errors.Is(err, disk.ErrNotFound) {
		return h.notLocal(w, r, id, true, lc)
	}
	h.cfg.Logger.Error("open stored file", "id", id.String(), "err", err)
	return h.fail(w, r, http.StatusInternalServerError, "cannot read the file")
}

// fileCache returns the file cache of g (one of cfg.Groups), or nil.
func (h *Handler) fileCache(g *Group) *disk.FileCache {
	for i := range h.cfg.Groups {
		if &h.cfg.Groups[i] == g {
			return h.caches[i]
		}
	}
	return nil
}

// group returns the configured group named name, or nil.
func (h *Handler) group(name string) *Group {
	for i := range h.cfg.Groups {
		if h.cfg.Groups[i].Name == name {
			return &h.cfg.Groups[i]
		}
	}
	return nil
}

// fail writes a short plain-text error body that says what was wrong.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) (int, int64) {
	hd := w.Header()
	hd["Content-Type"] = hvTextPlain
	hd["X-Content-Type-Options"] = hvNosniff
	hd["Cache-Control"] = hvNoStore
	body := msg + "\n"
	hd["Content-Length"] = []string{itoa(int64(len(body)))}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return status, 0
	}
	n, _ := w.Write([]byte(body))
	return status, int64(n)
}

// serveCheckFail answers a bad token with the token_check_fail file of lc.
func (h *Handler) serveCheckFail(w http.ResponseWriter, r *http.Request, lc *liveConfig) (int, int64) {
	hd := w.Header()
	hd["Content-Type"] = lc.failType
	hd["Content-Length"] = []string{itoa(int64(len(lc.checkFail)))}
	hd["Cache-Control"] = hvNoStore
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK, 0
	}
	n, _ := w.Write(lc.checkFail)
	return http.StatusOK, int64(n)
}
