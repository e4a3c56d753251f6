package httpd

import "sync/atomic"

// counters are the Handler's running totals. A response costs two atomic adds (its status
// and its body bytes); the rest move only off the local-file path (a bad token, a redirect,
// a proxied request). Counters reads them.
type counters struct {
	_      [64]byte                 // off the cache line of the fields every request reads
	status [maxStatus]atomic.Uint64 // by status code; [0] counts codes outside 100..599
	bytes  atomic.Uint64

	tokenFailures atomic.Uint64
	redirects     atomic.Uint64
	proxied       atomic.Uint64
	proxyErrors   atomic.Uint64
}

const maxStatus = 600

// response counts one response with status and n body bytes.
func (c *counters) response(status int, n int64) {
	if status < 100 || status >= maxStatus {
		status = 0
	}
	c.status[status].Add(1)
	if n > 0 {
		c.bytes.Add(uint64(n))
	}
}

// Counters are a Handler's totals since New.
type Counters struct {
	// Responses counts the responses by status code (0: a code outside 100..599); codes never
	// sent are absent.
	Responses map[int]uint64
	// BodyBytes are the response body bytes written to connections (a proxied body counts).
	BodyBytes uint64
	// TokenFailures are requests refused (or given the token_check_fail file) by the
	// anti-steal check: a missing, bad or expired md5 token or signed URL, or an md5 token
	// while they are refused.
	TokenFailures uint64
	// Redirects are 302s to the file's source node (response_mode = redirect).
	Redirects uint64
	// Proxied are requests fetched from the file's source node (response_mode = proxy);
	// ProxyErrors those of them the source did not answer (502, 504).
	Proxied, ProxyErrors uint64
	// DroppedLogLines are access-log lines dropped because the writer lagged.
	DroppedLogLines uint64
}

// Counters returns the Handler's totals. It reads atomics only: call it as often as needed.
func (h *Handler) Counters() Counters {
	c := &h.counts
	out := Counters{
		Responses:       map[int]uint64{},
		BodyBytes:       c.bytes.Load(),
		TokenFailures:   c.tokenFailures.Load(),
		Redirects:       c.redirects.Load(),
		Proxied:         c.proxied.Load(),
		ProxyErrors:     c.proxyErrors.Load(),
		DroppedLogLines: h.DroppedLogLines(),
	}
	for code := range c.status {
		if n := c.status[code].Load(); n > 0 {
			out.Responses[code] = n
		}
	}
	return out
}
