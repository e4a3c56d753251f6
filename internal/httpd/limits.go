package httpd

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Pacing: a rate-limited body goes out in chunks of about paceSlice worth of bytes at the
// rate (within [minChunk, maxChunk]), each still a sendfile(2) of its own.
const (
	paceSlice = 50 * time.Millisecond
	minChunk  = 4 << 10
	maxChunk  = 256 << 10
)

// chunkFor returns the pacing chunk for a rate in bytes/s.
func chunkFor(bps int64) int64 {
	return min(max(bps*int64(paceSlice)/int64(time.Second), minChunk), maxChunk)
}

// userLimits holds one token bucket per user, shared by all the user's connections on this
// node. Buckets idle for userIdle are dropped; at most maxUsers are held (a flood of distinct
// users then shares nothing but the oldest buckets' eviction).
type userLimits struct {
	mu      sync.Mutex
	users   map[string]*userLimit
	evicted uint64
}

type userLimit struct {
	lim  *rate.Limiter
	bps  int64
	used time.Time
}

const (
	userIdle = time.Minute
	maxUsers = 100_000
)

// get returns user's bucket at bps bytes/s (a bucket whose rate differs takes the new one:
// the latest grant wins).
func (u *userLimits) get(user string, bps int64, now time.Time) *rate.Limiter {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users == nil {
		u.users = map[string]*userLimit{}
	}
	ul := u.users[user]
	if ul == nil {
		if len(u.users) >= maxUsers {
			u.sweep(now)
		}
		ul = &userLimit{lim: rate.NewLimiter(rate.Limit(bps), int(chunkFor(bps))), bps: bps}
		u.users[user] = ul
	} else if ul.bps != bps {
		ul.lim.SetLimitAt(now, rate.Limit(bps))
		ul.lim.SetBurstAt(now, int(chunkFor(bps)))
		ul.bps = bps
	}
	ul.used = now
	return ul.lim
}

// sweep drops idle buckets, or when none is idle a tenth of them, in one pass (map order is
// random, so which tenth is arbitrary): a flood of distinct users costs one pass per
// maxUsers/10 new users, not one per user.
func (u *userLimits) sweep(now time.Time) {
	for k, ul := range u.users {
		if now.Sub(ul.used) > userIdle {
			delete(u.users, k)
			u.evicted++
		}
	}
	for k := range u.users {
		if len(u.users) < maxUsers-maxUsers/10 {
			break
		}
		delete(u.users, k)
		u.evicted++
	}
}

// pacer waits before each chunk of one response body for its connection limit
// (limit_rate after limit_rate_after bytes) and its user's bucket.
type pacer struct {
	conn      *rate.Limiter // nil = no per-connection limit
	freeBytes int64         // bytes still to send before conn applies
	user      *rate.Limiter // nil = no user limit
	chunk     int64
}

// newPacer returns the pacer of a response for gr on the request r, or nil when no limit
// applies (the body then goes out in one piece).
func (h *Handler) newPacer(gr *grant, clientHost string) *pacer {
	ubps := gr.live.UserLimitRate
	if gr.rate != 0 {
		ubps = max(gr.rate, 0)
	}
	cbps := gr.live.LimitRate
	if ubps == 0 && cbps == 0 {
		return nil
	}
	p := &pacer{chunk: maxChunk}
	if cbps > 0 {
		p.chunk = chunkFor(cbps)
		p.conn = rate.NewLimiter(rate.Limit(cbps), int(p.chunk))
		p.freeBytes = gr.live.LimitRateAfter
	}
	if ubps > 0 {
		user := gr.user
		if user == "" {
			user = clientHost
		}
		p.chunk = min(p.chunk, chunkFor(ubps))
		p.user = h.users.get(user, ubps, h.cfg.Now())
	}
	return p
}

// next returns how many bytes to send now (at most left), after waiting for them; an error
// means the request's context ended.
func (p *pacer) next(ctx context.Context, left int64) (int64, error) {
	if p.freeBytes > 0 && p.user == nil {
		n := min(left, p.freeBytes)
		p.freeBytes -= n
		return n, nil
	}
	n := min(left, p.chunk)
	if p.user != nil {
		n = min(n, int64(p.user.Burst())) // another grant may have changed the user's rate
	}
	if p.freeBytes > 0 {
		n = min(n, p.freeBytes)
		p.freeBytes -= n
	} else if p.conn != nil {
		if err := p.conn.WaitN(ctx, int(n)); err != nil {
			return 0, err
		}
	}
	if p.user != nil {
		if err := p.user.WaitN(ctx, int(n)); err != nil {
			return 0, err
		}
	}
	return n, nil
}
