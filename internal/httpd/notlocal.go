package httpd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/token"
)

// notLocal answers a request for a file that is not on this node: a miss in a configured
// group (sameGroup), or any file of a group this node does not serve. The 404 rules (the
// source is this node, or the file is older than SyncFileMaxDelay) apply to the node's own
// groups only; other groups go to their source like FastDFS.
func (h *Handler) notLocal(w http.ResponseWriter, r *http.Request, id fileid.ID, sameGroup bool, lc *liveConfig) (int, int64) {
	if sameGroup && h.cfg.IsSelf(id) {
		return h.fail(w, r, http.StatusNotFound, "file not found")
	}
	if c := id.CreatedUnix(); sameGroup && c > 0 && h.cfg.Now().Sub(time.Unix(c, 0)) > h.cfg.SyncFileMaxDelay {
		return h.fail(w, r, http.StatusNotFound, "file not found")
	}
	if _, again := queryValue(r.URL.RawQuery, "redirect"); again {
		return h.fail(w, r, http.StatusBadRequest, "file not found on the source node either (redirect loop guard: the request already carries redirect=)")
	}
	base, ok := h.sourceBase(r, id)
	if !ok {
		return h.fail(w, r, http.StatusBadGateway, "the source node of this file is unknown")
	}
	query := r.URL.RawQuery
	if lc.ResponseMode == Redirect {
		h.counts.redirects.Add(1)
		return h.redirect(w, r, keepScheme(r, base)+r.URL.EscapedPath()+"?"+appendRedirect(query))
	}
	if lc.Token.Check && lc.bypassed(r) {
		// The bypass header stays on this node (the source is named by the client's file
		// ID); a request it let through is signed for the source instead.
		if _, has := queryValue(query, "token"); !has {
			if _, remote, ok := splitPath(r.URL.Path, h.cfg.URLHaveGroupName); ok {
				ts := h.cfg.Now().Unix()
				if query != "" {
					query += "&"
				}
				query += "token=" + token.Sign(lc.Token.Secret, remote, ts) + "&ts=" + itoa(ts)
			}
		}
	}
	h.counts.proxied.Add(1)
	return h.proxyTo(w, r, base+r.URL.EscapedPath()+"?"+appendRedirect(query), lc)
}

// appendRedirect adds the loop guard redirect=1 to a raw query.
func appendRedirect(query string) string {
	if query == "" {
		return "redirect=1"
	}
	return query + "&redirect=1"
}

// sourceBase returns the base URL of the ID's source node: Config.SourceURL, or by default
// <request scheme>://<source IPv4>[:<local port>] (the port left out when it is the scheme's).
func (h *Handler) sourceBase(r *http.Request, id fileid.ID) (string, bool) {
	if h.cfg.SourceURL != nil {
		return h.cfg.SourceURL(id)
	}
	scheme, defPort := "http", 80
	if r.TLS != nil {
		scheme, defPort = "https", 443
	}
	base := scheme + "://" + id.SourceIPv4().String()
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := a.(*net.TCPAddr); ok && ta.Port != defPort {
			base += ":" + strconv.Itoa(ta.Port)
		}
	}
	return base, true
}

// keepScheme makes a redirect to base keep a request's https: a client that came over TLS
// is not sent to plain http (the nodes of a group serve the same scheme, each on its own
// download port). A base that is https already stays so.
func keepScheme(r *http.Request, base string) string {
	if r.TLS != nil {
		if rest, ok := strings.CutPrefix(base, "http://"); ok {
			return "https://" + rest
		}
	}
	return base
}

// redirect sends a complete 302 with an absolute Location and a short body.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, target string) (int, int64) {
	hd := w.Header()
	hd["Location"] = []string{target}
	hd["Cache-Control"] = hvNoStore
	hd["Content-Type"] = hvTextPlain
	body := "file is on its source node: " + target + "\n"
	hd["Content-Length"] = []string{itoa(int64(len(body)))}
	w.WriteHeader(http.StatusFound)
	if r.Method == http.MethodHead {
		return http.StatusFound, 0
	}
	n, _ := io.WriteString(w, body)
	return http.StatusFound, int64(n)
}

// hopHeaders are the hop-by-hop headers (RFC 9110 §7.6.1) a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// copyEndToEnd copies src into dst without hop-by-hop headers and those named by Connection.
func copyEndToEnd(dst, src http.Header) {
	for k, vv := range src {
		dst[k] = vv
	}
	for _, c := range src["Connection"] {
		for _, name := range strings.Split(c, ",") {
			if name = strings.TrimSpace(name); name != "" {
				delete(dst, http.CanonicalHeaderKey(name))
			}
		}
	}
	for _, k := range hopHeaders {
		delete(dst, k)
	}
}

// forwardedFor returns the client's IP address (from r.RemoteAddr) and the X-Forwarded-For
// value that a request made on its behalf carries: the client's own list with its address
// appended. ok is false when RemoteAddr is not host:port.
func forwardedFor(r *http.Request) (ip, xff string, ok bool) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", "", false
	}
	if prior := r.Header["X-Forwarded-For"]; len(prior) > 0 {
		return ip, strings.Join(prior, ", ") + ", " + ip, true
	}
	return ip, ip, true
}

// newProxyClient returns the pooled keep-alive client used to fetch from source nodes.
func newProxyClient(c Config) *http.Client {
	if c.ProxyTransport != nil {
		return &http.Client{Transport: c.ProxyTransport, CheckRedirect: noRedirects}
	}
	return upstreamClient(c.ProxyTimeout, func(t *http.Transport) {
		t.ResponseHeaderTimeout = c.ProxyTimeout
		if c.ProxyTLS != nil {
			t.TLSClientConfig = c.ProxyTLS.Clone()
		}
	})
}

// upstreamClient is a keep-alive client for the node's outbound HTTP (source nodes, the auth
// service, the X-Accel app): connecting bounded by connect, redirects not followed, bodies
// passed untouched (no compression); tune adjusts the transport.
func upstreamClient(connect time.Duration, tune func(*http.Transport)) *http.Client {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	if tune != nil {
		tune(t)
	}
	return &http.Client{Transport: t, CheckRedirect: noRedirects}
}

// noRedirects makes a client return a 3xx answer instead of following it.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// proxyTo fetches target from the source node and streams the answer (status, end-to-end
// headers, body) to w. Range, conditionals and the token travel as request headers and query;
// lc's bypass header does not.
func (h *Handler) proxyTo(w http.ResponseWriter, r *http.Request, target string, lc *liveConfig) (int, int64) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, nil)
	if err != nil {
		return h.fail(w, r, http.StatusBadGateway, "cannot build the request to the source node")
	}
	copyEndToEnd(req.Header, r.Header)
	// Credentials stay here: the source node is named by the file ID, which the client chose.
	delete(req.Header, "Cookie")
	delete(req.Header, "Authorization")
	if lc.bypassKey != "" {
		delete(req.Header, lc.bypassKey)
	}
	if _, xff, ok := forwardedFor(r); ok {
		req.Header["X-Forwarded-For"] = []string{xff}
	}
	resp, err := h.proxy.Do(req)
	if err != nil {
		h.counts.proxyErrors.Add(1)
		h.cfg.Logger.Warn("proxy to source node", "url", target, "err", err)
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return h.fail(w, r, http.StatusGatewayTimeout, "the source node did not answer in time")
		}
		return h.fail(w, r, http.StatusBadGateway, "the source node is unreachable")
	}
	defer resp.Body.Close()
	copyEndToEnd(w.Header(), resp.Header)
	w.WriteHeader(resp.StatusCode)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := io.CopyBuffer(writerOnly{w}, resp.Body, *bp)
	if err != nil {
		h.cfg.Logger.Debug("proxy body", "url", target, "sent", n, "err", err)
	}
	return resp.StatusCode, n
}

// writerOnly hides the ResponseWriter's ReadFrom so that io.CopyBuffer uses the pooled buffer.
type writerOnly struct{ io.Writer }
