package httpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// XAccelConfig configures app-decided downloads (http.x_accel.*): a request whose path starts
// with Prefix goes to the app at Upstream; an answer with X-Accel-Redirect names a stored file,
// which this node serves itself, and any other answer goes to the client as it is.
type XAccelConfig struct {
	Prefix string // http.x_accel.prefix, such as "/dl/"; "" = off
	// Upstream is the app's base URL (http.x_accel.upstream); the request path, prefix kept,
	// and query are appended.
	Upstream string
	// Timeout bounds connecting plus the app's response headers, and then every wait for the
	// next piece of a passed-through body (0 = 10s). Past it: 504.
	Timeout time.Duration
}

func (c *XAccelConfig) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
}

// validate checks c; cfg gives the URL form the prefix must not hide.
func (c *XAccelConfig) validate(cfg *Config) error {
	if c.Prefix == "" {
		if c.Upstream != "" {
			return fmt.Errorf("%w: x-accel upstream %q without a prefix", ErrConfig, c.Upstream)
		}
		return nil
	}
	if !strings.HasPrefix(c.Prefix, "/") || strings.Contains(c.Prefix, "..") {
		return fmt.Errorf("%w: x-accel prefix %q: want a path that starts with / and has no .. in it", ErrConfig, c.Prefix)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: x-accel timeout %v is negative", ErrConfig, c.Timeout)
	}
	leads := []string{""}
	if cfg.URLHaveGroupName {
		leads = leads[:0]
		for _, g := range cfg.Groups {
			leads = append(leads, "/"+g.Name)
		}
	}
	for _, lead := range leads {
		if shadowsFileIDs(c.Prefix, lead) {
			return fmt.Errorf("%w: x-accel prefix %q would hide the file URLs under %s/Mxx/", ErrConfig, c.Prefix, lead)
		}
	}
	return checkBaseURL("x-accel upstream", c.Upstream)
}

// shadowsFileIDs reports whether p and a file URL lead+"/Mxx/…" (xx two hex digits) agree on
// their common length: then some file URLs start with p, or p lies under a store path.
func shadowsFileIDs(p, lead string) bool {
	t := lead + "/M##/"
	for i := 0; i < len(p) && i < len(t); i++ {
		if t[i] == '#' {
			if !isHexDigit(p[i]) {
				return false
			}
		} else if p[i] != t[i] {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

// xaccelApp is the connection to the app. It is safe for concurrent use.
type xaccelApp struct {
	prefix  string
	base    string // Upstream without a trailing slash
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
}

func newXAccelApp(c XAccelConfig, log *slog.Logger) *xaccelApp {
	return &xaccelApp{
		prefix:  c.Prefix,
		base:    strings.TrimSuffix(c.Upstream, "/"),
		timeout: c.Timeout,
		log:     log,
		client:  upstreamClient(c.Timeout, nil),
	}
}

// errAppTimeout cancels a request to the app that ran out of time.
var errAppTimeout = errors.New("the app did not answer within http.x_accel.timeout")

// serveXAccel sends r to the app and serves what it answers: the file an X-Accel-Redirect
// names (with what the app grants merged into gr), or the answer itself.
func (h *Handler) serveXAccel(w http.ResponseWriter, r *http.Request, gr *grant) (int, int64) {
	start := time.Now()
	x := h.xaccel
	target := x.base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	// One timer for connect plus headers, re-armed around each body read (idleReader).
	timer := time.AfterFunc(x.timeout, func() { cancel(errAppTimeout) })
	defer timer.Stop()
	req, err := http.NewRequestWithContext(ctx, r.Method, target, nil)
	if err != nil {
		return h.fail(w, r, http.StatusBadGateway, "cannot build the request to the app")
	}
	h.appHeaders(req.Header, r, gr.live)
	resp, err := x.client.Do(req)
	if err != nil {
		x.log.Warn("x-accel: request to the app failed", "url", target, "err", err, "cause", context.Cause(ctx))
		if errors.Is(context.Cause(ctx), errAppTimeout) {
			return h.fail(w, r, http.StatusGatewayTimeout, "the app did not answer in time")
		}
		return h.fail(w, r, http.StatusBadGateway, "the app is unreachable")
	}
	defer resp.Body.Close()
	body := idleReader{r: resp.Body, t: timer, d: x.timeout}
	timer.Stop()
	if loc := resp.Header["X-Accel-Redirect"]; len(loc) > 0 {
		// The app's body is not sent; a short one is read so the connection can be reused.
		io.CopyN(io.Discard, body, authBodyMax)
		resp.Body.Close()
		return h.serveAccelRedirect(w, r, resp.Header, loc[0], gr)
	}
	return h.passThrough(w, r, resp, body, start)
}

// appHeaders sets the headers of the request to the app: the client's end-to-end headers and
// its address.
func (h *Handler) appHeaders(dst http.Header, r *http.Request, lc *liveConfig) {
	copyEndToEnd(dst, r.Header)
	if lc.bypassKey != "" {
		delete(dst, lc.bypassKey) // the bypass secret stays on this node
	}
	if ip, xff, ok := forwardedFor(r); ok {
		dst["X-Real-Ip"] = []string{ip}
		dst["X-Forwarded-For"] = []string{xff}
	}
}

// passThrough sends the app's answer to the client: status, end-to-end headers without
// X-Accel-*, and the body as it arrives (each piece flushed). A body that breaks off is cut
// on the client's side too (abort), so that a chunked one does not look complete.
func (h *Handler) passThrough(w http.ResponseWriter, r *http.Request, resp *http.Response, body io.Reader, start time.Time) (int, int64) {
	hd := w.Header()
	copyEndToEnd(hd, resp.Header)
	for k := range hd {
		if strings.HasPrefix(k, "X-Accel-") {
			delete(hd, k)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return resp.StatusCode, 0
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	fw := flushWriter{w: w}
	fw.f, _ = w.(http.Flusher)
	n, err := io.CopyBuffer(fw, body, *bp)
	if err != nil {
		h.xaccel.log.Info("x-accel: the app's body broke off; cutting the response", "uri", r.RequestURI, "sent", n, "err", err)
		h.abort(w, r, resp.StatusCode, n, start)
	}
	return resp.StatusCode, n
}

// abort records the access-log line of a response that is cut short, then ends the
// connection without completing it (http.ErrAbortHandler, which fastsrv and net/http
// honour quietly).
func (h *Handler) abort(w http.ResponseWriter, r *http.Request, status int, n int64, start time.Time) {
	if h.log != nil {
		h.log.record(&logEntry{r: r, w: w, status: status, body: n, now: h.cfg.Now(), took: time.Since(start)})
	}
	panic(http.ErrAbortHandler)
}

// flushWriter flushes after every write, so a passed-through body streams. It hides the
// ResponseWriter's ReadFrom, so that io.CopyBuffer uses the pooled buffer.
type flushWriter struct {
	w io.Writer
	f http.Flusher // nil when w cannot flush
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

// idleReader bounds each wait for the app's body by d: t (which cancels the request to the
// app) runs only while a Read is waiting, so a slow client does not count against the app.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (ir idleReader) Read(p []byte) (int, error) {
	ir.t.Reset(ir.d)
	n, err := ir.r.Read(p)
	ir.t.Stop()
	return n, err
}
