package httpd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// AuthRequestConfig configures delegated auth (http.auth_request.*): before a file is served,
// after the anti-steal token check, the node asks URL whether the request may have it.
type AuthRequestConfig struct {
	URL string // http.auth_request.url; "" = off
	// Timeout bounds the whole ask: connect, answer and the drained body (0 = 5s). An ask
	// that fails or runs out of time is 503 for the client.
	Timeout time.Duration
	// CacheTTL keeps the answers (allow with its grant, 401, 403) per Cookie, Authorization
	// and request URI for this long; 0 = ask for every request.
	CacheTTL time.Duration
	// CacheMax bounds the cached answers (0 = 100,000); past it the oldest are dropped and
	// counted (Handler.AuthCacheEvictions).
	CacheMax int
}

func (c *AuthRequestConfig) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.CacheMax == 0 {
		c.CacheMax = 100_000
	}
}

func (c *AuthRequestConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	if c.Timeout < 0 || c.CacheTTL < 0 || c.CacheMax < 0 {
		return fmt.Errorf("%w: auth request: negative timeout %v, cache ttl %v or cache size %d", ErrConfig, c.Timeout, c.CacheTTL, c.CacheMax)
	}
	return checkBaseURL("auth request URL", c.URL)
}

// Limits of the auth service's answer.
const (
	authBodyMax   = 4 << 10  // body bytes read (and dropped) so the connection can be reused
	authHeaderMax = 64 << 10 // response header bytes
)

// authAnswer is what the auth service said about one request.
type authAnswer struct {
	status    int      // 200 = allow, 401 or 403 = refuse, 503 = the ask failed
	gr        grant    // for 200: user, rate and file name from the answer ("" / 0 = not given)
	challenge []string // WWW-Authenticate of a 401 or 403
}

var authFailed = authAnswer{status: http.StatusServiceUnavailable}

// authorizer asks the auth service. It is safe for concurrent use.
type authorizer struct {
	url     string
	timeout time.Duration
	client  *http.Client
	cache   *authCache // nil when answers are not kept
	log     *slog.Logger
}

func newAuthorizer(c AuthRequestConfig, now func() time.Time, log *slog.Logger) *authorizer {
	a := &authorizer{
		url:     c.URL,
		timeout: c.Timeout,
		log:     log,
		// A redirect is not an answer: it ends as "anything else", 503.
		client: upstreamClient(c.Timeout, func(t *http.Transport) { t.MaxResponseHeaderBytes = authHeaderMax }),
	}
	if c.CacheTTL > 0 {
		a.cache = newAuthCache(c.CacheTTL, c.CacheMax, now)
	}
	return a
}

// decide returns the answer for r: from the cache, from an ask already running for the same
// key, or from a new ask.
func (a *authorizer) decide(r *http.Request) authAnswer {
	if a.cache == nil {
		return a.ask(r)
	}
	return a.cache.do(authKeyOf(r), func() authAnswer { return a.ask(r) })
}

// ask sends one GET to the auth service on behalf of r and reads its answer.
func (a *authorizer) ask(r *http.Request) authAnswer {
	// Not r's context: the answer may be shared with other requests (authCache.do).
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err != nil {
		a.log.Error("auth request: build", "url", a.url, "err", err)
		return authFailed
	}
	hd := req.Header
	hd["X-Original-Uri"] = []string{r.RequestURI}
	hd["X-Original-Method"] = []string{r.Method}
	if ip, xff, ok := forwardedFor(r); ok {
		hd["X-Real-Ip"] = []string{ip}
		hd["X-Forwarded-For"] = []string{xff}
	}
	for _, k := range [...]string{"Cookie", "Authorization"} {
		if v := r.Header[k]; len(v) > 0 {
			hd[k] = v
		}
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.log.Warn("auth request failed: refusing with 503", "url", a.url, "uri", r.RequestURI, "err", err)
		return authFailed
	}
	// The decision is in the status and headers; the body is read only to keep the connection.
	io.CopyN(io.Discard, resp.Body, authBodyMax)
	resp.Body.Close()
	return a.answer(resp, r)
}

// answer turns the auth service's response into an authAnswer.
func (a *authorizer) answer(resp *http.Response, r *http.Request) authAnswer {
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		gr, err := authGrant(resp.Header)
		if err != nil {
			a.log.Warn("auth answer unusable: refusing with 503", "url", a.url, "uri", r.RequestURI, "err", err)
			return authFailed
		}
		return authAnswer{status: http.StatusOK, gr: gr}
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return authAnswer{status: st, challenge: resp.Header["Www-Authenticate"]}
	default:
		a.log.Warn("auth service answered neither 2xx nor 401/403: refusing with 503", "url", a.url, "uri", r.RequestURI, "status", st)
		return authFailed
	}
}

// authGrant reads X-Depot-User, X-Depot-Limit-Rate and X-Depot-Filename of an allowing answer.
func authGrant(hd http.Header) (grant, error) {
	gr := grant{user: hd.Get("X-Depot-User"), filename: hd.Get("X-Depot-Filename")}
	if v := hd.Get("X-Depot-Limit-Rate"); v != "" {
		rate, err := parseRate(v)
		if err != nil {
			return grant{}, fmt.Errorf("X-Depot-Limit-Rate: %w", err)
		}
		gr.rate = rate
	}
	return gr, nil
}

// authorize applies the auth service's answer to r. ok is true when r may be served, with what
// the answer granted merged into gr; otherwise the refusal has been written and status and n
// are for the access log. Nothing of the file is read before the answer.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, gr *grant) (status int, n int64, ok bool) {
	ans := h.auth.decide(r)
	switch ans.status {
	case http.StatusOK:
		gr.merge(ans.gr)
		return 0, 0, true
	case http.StatusUnauthorized, http.StatusForbidden:
		if len(ans.challenge) > 0 {
			w.Header()["Www-Authenticate"] = ans.challenge
		}
		msg := "access denied by the auth service"
		if ans.status == http.StatusUnauthorized {
			msg = "authentication required by the auth service"
		}
		status, n = h.fail(w, r, ans.status, msg)
		return status, n, false
	}
	status, n = h.fail(w, r, http.StatusServiceUnavailable, "the auth service could not be asked; try again later")
	return status, n, false
}

// AuthCacheEvictions returns how many cached auth answers were dropped before they expired
// to keep the cache within AuthRequestConfig.CacheMax.
func (h *Handler) AuthCacheEvictions() uint64 {
	if h.auth == nil || h.auth.cache == nil {
		return 0
	}
	return h.auth.cache.evicted.Load()
}
