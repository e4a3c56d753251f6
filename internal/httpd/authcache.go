package httpd

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// authKey names what an auth answer was given for: a SHA-256 over the request's Cookie and
// Authorization values and its URI, so that a key costs 32 bytes however long the
// credentials are.
type authKey [sha256.Size]byte

// authKeyOf returns the cache key of r. Each part is length-prefixed, so no two different
// (Cookie, Authorization, URI) triples share their hashed bytes.
func authKeyOf(r *http.Request) authKey {
	h := sha256.New()
	writeParts(h, r.Header["Cookie"])
	writeParts(h, r.Header["Authorization"])
	writeParts(h, []string{r.RequestURI})
	var k authKey
	h.Sum(k[:0])
	return k
}

// writeParts writes the number of values, then each value's length and bytes.
func writeParts(h hash.Hash, vals []string) {
	var b [binary.MaxVarintLen64]byte
	h.Write(binary.AppendUvarint(b[:0], uint64(len(vals))))
	for _, v := range vals {
		h.Write(binary.AppendUvarint(b[:0], uint64(len(v))))
		h.Write([]byte(v))
	}
}

// authCache keeps the auth service's answers for ttl, at most capacity of them, and lets
// concurrent requests with the same key share one ask. It is safe for concurrent use.
//
// Every answer lives ttl, so insertion order is expiry order: order is a FIFO whose front
// holds the answers that expire first, and dropping from the front removes expired answers
// first and, when the cache is full, the oldest live ones (counted in evicted).
type authCache struct {
	ttl      time.Duration
	capacity int
	now      func() time.Time

	mu      sync.Mutex
	entries map[authKey]*authEntry
	order   []*authEntry // insertion order; order[:head] is consumed
	head    int
	flights map[authKey]*authFlight
	joined  atomic.Uint64 // requests that waited for another's ask (tests)
	evicted atomic.Uint64 // live answers dropped to stay within capacity
}

type authEntry struct {
	key     authKey
	ans     authAnswer
	expires time.Time
}

// authFlight is an ask in progress; done is closed once ans is set.
type authFlight struct {
	done chan struct{}
	ans  authAnswer
}

func newAuthCache(ttl time.Duration, capacity int, now func() time.Time) *authCache {
	return &authCache{
		ttl:      ttl,
		capacity: capacity,
		now:      now,
		entries:  make(map[authKey]*authEntry),
		flights:  make(map[authKey]*authFlight),
	}
}

// do returns the answer kept for key, or waits for the ask already running for key, or runs
// ask on the calling goroutine and keeps its answer unless the ask failed (503 is not kept:
// the next request asks again).
func (c *authCache) do(key authKey, ask func() authAnswer) authAnswer {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		ans := e.ans
		c.mu.Unlock()
		return ans
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		c.joined.Add(1)
		<-f.done
		return f.ans
	}
	f := &authFlight{done: make(chan struct{}), ans: authFailed}
	c.flights[key] = f
	c.mu.Unlock()
	defer func() { // also when ask panics: the waiters get the 503 preset in f.ans
		c.mu.Lock()
		delete(c.flights, key)
		if f.ans.status != authFailed.status {
			c.put(key, f.ans)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.ans = ask()
	return f.ans
}

// put keeps ans for key; c.mu is held.
func (c *authCache) put(key authKey, ans authAnswer) {
	now := c.now()
	delete(c.entries, key) // an expired answer being replaced: its order slot goes stale
	for c.head < len(c.order) {
		e := c.order[c.head]
		live := c.entries[e.key] == e
		fresh := live && now.Before(e.expires)
		if fresh && len(c.order)-c.head < c.capacity {
			break
		}
		if fresh {
			c.evicted.Add(1)
		}
		if live {
			delete(c.entries, e.key)
		}
		c.order[c.head] = nil
		c.head++
	}
	if c.head > len(c.order)/2 {
		n := copy(c.order, c.order[c.head:])
		clear(c.order[n:])
		c.order, c.head = c.order[:n], 0
	}
	e := &authEntry{key: key, ans: ans, expires: now.Add(c.ttl)}
	c.entries[key] = e
	c.order = append(c.order, e)
}
