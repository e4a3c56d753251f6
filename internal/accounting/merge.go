package accounting

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"
	"time"
)

// merge adds one delivery to its pair's union and completes the download when the union
// covers the file; now is the time of its batch.
func (a *Accountant) merge(d *Delivery, now time.Time) {
	if d.Size < 0 || d.FileID == "" {
		return
	}
	sent, ackedBytes := spanBytes(d.Sent), spanBytes(d.Acked)
	b := &a.batch
	b.Responses++
	b.BytesSent += sent
	b.BytesAcked += ackedBytes
	if d.Aborted {
		b.Aborted++
	}
	acked := ackedBytes > 0
	if !acked && !(d.Size == 0 && !d.Aborted) {
		return // nothing delivered: no state for it
	}
	a.keyBuf = append(append(append(a.keyBuf[:0], d.User...), 0), d.FileID...)
	e := a.entries[string(a.keyBuf)] // no allocation for the lookup
	if e != nil && now.Sub(e.Started) > a.cfg.Window {
		a.remove(e)
		a.count(func(s *Stats) { s.Expired++ })
		e = nil
	}
	if e == nil && (d.Size == 0 || wholeIn(d.Acked, d.Size)) {
		// The whole file in one response (most small downloads): complete without state.
		a.completeWhole(d, now)
		return
	}
	key := string(a.keyBuf)
	if e == nil {
		for len(a.entries) >= a.cfg.MaxEntries {
			a.remove(a.lru.Back().Value.(*entry))
			a.count(func(s *Stats) { s.Evicted++ })
		}
		e = &entry{User: d.User, FileID: d.FileID, Size: d.Size, Started: now, Anon: d.Anonymous, key: key, bucket: d.Pair.bucket}
		a.held[e.bucket].Add(1)
		a.entries[key] = e
		e.elem = a.lru.PushFront(e)
	} else {
		a.lru.MoveToFront(e.elem)
	}
	e.Client = d.Client
	e.Spans = mergeSpans(e.Spans, d.Acked)
	if acked && !slices.Contains(e.Conns, d.Conn) {
		if len(e.Conns) < maxConns {
			e.Conns = append(e.Conns, d.Conn)
		} else {
			e.More++
		}
	}
	a.dirty[key] = true
	if covers(e.Spans, e.Size) {
		a.complete(e, now)
	}
}

// AckedBytes is how many bytes of the file d's client acknowledged.
func (d *Delivery) AckedBytes() int64 { return int64(spanBytes(d.Acked)) }

// spanBytes is the bytes spans cover (empty or inverted spans count nothing).
func spanBytes(spans []Span) uint64 {
	var n uint64
	for _, s := range spans {
		n += uint64(max(s.End-s.Start, 0))
	}
	return n
}

// wholeIn reports whether one of spans covers [0, size).
func wholeIn(spans []Span, size int64) bool {
	for _, s := range spans {
		if s.Start <= 0 && s.End >= size {
			return true
		}
	}
	return false
}

// completeWhole records a download that one response delivered whole.
func (a *Accountant) completeWhole(d *Delivery, now time.Time) {
	if a.cfg.OnComplete != nil || a.cfg.QueueEvents {
		a.complete(wholeEntry(d, now), now)
		return
	}
	a.batch.Completed++
}

// wholeEntry is the stateless pair of a download that d delivered whole.
func wholeEntry(d *Delivery, now time.Time) *entry {
	return &entry{User: d.User, FileID: d.FileID, Client: d.Client, Size: d.Size, Started: now,
		Anon: d.Anonymous, Conns: []string{d.Conn}}
}

// completion is the event of e's download, completed at now.
func (a *Accountant) completion(e *entry, now time.Time) Completion {
	return Completion{
		Event: "download.completed", ID: a.newID(), FileID: e.FileID, User: e.User, Client: e.Client,
		Size: e.Size, Connections: len(e.Conns) + e.More, Started: e.Started.UTC(), Completed: now.UTC(),
		Anonymous: e.Anon,
	}
}

// complete records e's download as completed and drops its state (e may be a stateless one
// from merge's fast path).
func (a *Accountant) complete(e *entry, now time.Time) {
	a.events = append(a.events, a.completion(e, now))
	if e.elem != nil {
		a.remove(e)
	}
	a.batch.Completed++
}

// remove drops e's state; its stored record is deleted at the next flush when it has one (a
// pair created and completed between two flushes never touches the disk).
func (a *Accountant) remove(e *entry) {
	delete(a.entries, e.key)
	a.held[e.bucket].Add(-1)
	a.lru.Remove(e.elem)
	e.elem = nil
	if e.saved {
		a.dirty[e.key] = true
	} else {
		delete(a.dirty, e.key)
	}
}

// publish adds the counts of the deliveries merged since the last publish to the Stats.
func (a *Accountant) publish() {
	b := a.batch
	a.batch = Stats{}
	a.mu.Lock()
	a.stats.Responses += b.Responses
	a.stats.Aborted += b.Aborted
	a.stats.BytesSent += b.BytesSent
	a.stats.BytesAcked += b.BytesAcked
	a.stats.Completed += b.Completed
	a.stats.Entries = len(a.entries)
	a.mu.Unlock()
}

func (a *Accountant) count(f func(*Stats)) {
	a.mu.Lock()
	f(&a.stats)
	a.stats.Entries = len(a.entries)
	a.mu.Unlock()
}

// flush writes the changed pairs and the new events in one transaction, then hands the
// events to OnComplete.
func (a *Accountant) flush() {
	if len(a.dirty) == 0 && len(a.events) == 0 {
		return
	}
	if a.cfg.Store != nil {
		recs := make(map[string][]byte, len(a.dirty))
		for k := range a.dirty {
			var v []byte
			if e := a.entries[k]; e != nil {
				v, _ = json.Marshal(e)
			}
			recs[k] = v
		}
		var evs [][]byte
		if a.cfg.QueueEvents {
			evs = make([][]byte, len(a.events))
			for i := range a.events {
				evs[i], _ = json.Marshal(a.events[i])
			}
		}
		dropped, err := a.cfg.Store.Commit(recs, evs, a.cfg.QueueMax)
		if err != nil {
			// Kept dirty: the next flush tries again.
			a.cfg.Logger.Error("accounting: write", "err", err, "pairs", len(recs), "events", len(evs))
			return
		}
		if dropped > 0 {
			a.count(func(s *Stats) { s.DroppedEvents += uint64(dropped) })
			a.cfg.Logger.Warn("accounting: completion queue full; oldest events dropped",
				"dropped", dropped, "queue_max", a.cfg.QueueMax)
		}
	}
	for k := range a.dirty {
		if e := a.entries[k]; e != nil {
			e.saved = true
		}
	}
	clear(a.dirty)
	a.count(func(*Stats) {})
	for _, ev := range a.events {
		if a.cfg.OnComplete != nil {
			a.cfg.OnComplete(ev)
		}
	}
	a.events = a.events[:0]
}

// newID returns a unique event ID: the Accountant's random 96-bit prefix (new at every start)
// and a sequence number.
func (a *Accountant) newID() string {
	return a.idPrefix + strconv.FormatUint(a.seq.Add(1), 36)
}

// PairKey returns the key of the pair (user, fileID) for Whole and Delivery.Pair.
func (a *Accountant) PairKey(user, fileID string) PairKey {
	h := maphash.String(a.seed, user) ^ bits.RotateLeft64(maphash.String(a.seed, fileID), 31)
	return PairKey{bucket: uint32(h % heldBuckets), ok: true}
}

// Whole counts a download that one response delivered whole and the client acknowledged
// whole: size bytes of the file k names, nothing else in the response. It reports whether it
// could: not when a pair of k's bucket has state or deliveries queued, nor when the
// Accountant needs the delivery's details (events, OnComplete, OnDelivery); the caller then
// Records the Delivery. It is Record's fast path for a caller that can tell a whole download
// without filling a Delivery.
func (a *Accountant) Whole(k PairKey, size int64) bool {
	if !k.ok || size <= 0 || a.cfg.QueueEvents || a.cfg.OnComplete != nil || a.cfg.OnDelivery != nil ||
		a.held[k.bucket].Load() != 0 {
		return false
	}
	a.whole.wholeN.Add(1)
	a.whole.wholeBytes.Add(uint64(size))
	return true
}

// recordWhole completes d on the caller's goroutine when it delivered its file whole in one
// response, no pair of its bucket has state or waits in the queue, and no event needs
// writing (QueueEvents off): what merge would do, without the queue. It reports whether it
// did. (A partial delivery of the same pair recorded meanwhile is merged after it, as if it
// came later; both are in flight at once.)
func (a *Accountant) recordWhole(d *Delivery) bool {
	if a.cfg.QueueEvents || d.Size < 0 || d.FileID == "" || a.held[d.Pair.bucket].Load() != 0 {
		return false
	}
	if d.Size == 0 {
		if d.Aborted {
			return false // merge counts it and keeps nothing; rare
		}
	} else if !wholeIn(d.Acked, d.Size) {
		return false
	}
	w := &a.whole
	w.responses.Add(1)
	w.sent.Add(spanBytes(d.Sent))
	w.acked.Add(spanBytes(d.Acked))
	if d.Aborted {
		w.aborted.Add(1)
	}
	w.completed.Add(1)
	if a.cfg.OnComplete != nil {
		now := a.cfg.Now()
		a.cfg.OnComplete(a.completion(wholeEntry(d, now), now))
	}
	return true
}

// randomPrefix returns 96 random bits in hex and a dash.
func randomPrefix() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}
