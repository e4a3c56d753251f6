package httpd

import (
	"fmt"
	"strconv"
)

// grant is what a request's credentials say about its download: who it is for, how fast it
// may go and under which name it is saved. A signed URL, the auth_request answer or an
// X-Accel-Redirect answer fills it; the zero value is an anonymous download (the user is the
// client address) at the configured rates.
type grant struct {
	user string // "" = the client address
	// rate is the user's bytes/s across connections: 0 = Config.UserLimitRate, < 0 = none.
	rate        int64
	filename    string // download file name (Content-Disposition: attachment)
	disposition string // a whole Content-Disposition value (an X-Accel app's own)
	ctype       string // Content-Type instead of the one from the extension (an X-Accel app's own)

	// ack is the request's access-log line when it waits for the client to acknowledge the
	// body (set by finishTally; nil otherwise). merge leaves it alone.
	ack *ackLine
	// live is the settings the request runs under, loaded once when it starts (ServeHTTP);
	// merge leaves it alone.
	live *liveConfig
}

// merge sets the fields that o gives (not "" or 0) over g's.
func (g *grant) merge(o grant) {
	if o.user != "" {
		g.user = o.user
	}
	if o.rate != 0 {
		g.rate = o.rate
	}
	if o.filename != "" {
		g.filename = o.filename
	}
	if o.disposition != "" {
		g.disposition = o.disposition
	}
	if o.ctype != "" {
		g.ctype = o.ctype
	}
}

// maxRate bounds a rate header (1 TiB/s): larger values are typos, not limits.
const maxRate = 1 << 40

// parseRate parses a rate header (X-Depot-Limit-Rate, X-Accel-Limit-Rate): bytes per second
// in decimal, optionally with a K or M suffix (1024, 1024²). "0" means no limit, as in nginx,
// and gives a negative grant rate.
func parseRate(v string) (int64, error) {
	digits, mult := v, int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			digits, mult = v[:n-1], 1<<10
		case 'm', 'M':
			digits, mult = v[:n-1], 1<<20
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > maxRate/mult || (digits != "" && digits[0] == '+') {
		return 0, fmt.Errorf("rate %q: want bytes per second such as 524288, 512K or 1M", v)
	}
	if n == 0 {
		return -1, nil
	}
	return n * mult, nil
}
