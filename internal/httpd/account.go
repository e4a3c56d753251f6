package httpd

import (
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
)

// ackWatcher is what the storage node's server (fastsrv.AckWatcher) offers a handler: the
// socket offset of the next byte written, and a report of how much of a range of it the
// client acknowledged.
type ackWatcher interface {
	Offset() int64
	WatchAck(from, to int64, done fastsrv.AckReceiver)
}

// tally accounts one response body: the file parts it carries, from the socket offset at
// which the body began. Once the body is written it is the AckReceiver of its watch; tallies
// are pooled (Handler.tallies) and go back once the accountant released their Delivery, or,
// when only the access log wanted the acknowledgement, once its line has it.
type tally struct {
	aw       ackWatcher
	from, to int64
	parts    []accounting.Part
	one      [1]accounting.Part
	record   func(*accounting.Delivery) // nil when only the log wants the acknowledgement
	d        accounting.Delivery
	sent     [1]accounting.Span
	acked    [1]accounting.Span
	line     *ackLine // the access-log line waiting for it, or nil
	pool     *sync.Pool
	id       fileid.ID // the file of the tally's last delivery, and its string
	idStr    string
	host     string // the client host of t.d.Conn
}

// newTally is the pool's constructor: the Delivery's Release hands the tally back.
func newTally(pool *sync.Pool) *tally {
	t := &tally{pool: pool}
	t.d.Release = func() { t.pool.Put(t) }
	return t
}

// startTally returns a tally for the body about to be written, or nil when neither accounting
// nor the access log's format needs acknowledged bytes, or the server cannot tell them.
func (h *Handler) startTally(w http.ResponseWriter) *tally {
	if h.cfg.Accounting == nil && (h.log == nil || !h.log.ack) {
		return nil
	}
	aw, ok := w.(ackWatcher)
	if !ok {
		return nil
	}
	t := h.tallies.Get().(*tally)
	t.aw, t.from, t.to, t.parts, t.record, t.line = aw, aw.Offset(), 0, t.one[:0], nil, nil
	return t
}

// part notes that the next n bytes written are the file's bytes from start.
func (t *tally) part(start, n int64) {
	if t == nil {
		return
	}
	t.parts = append(t.parts, accounting.Part{Start: start, Len: n, Offset: t.aw.Offset() - t.from})
}

// finishTally watches what the client acknowledges of the body and reports it to the
// accountant and, when the log format needs it, to the request's access-log line (gr.ack).
func (h *Handler) finishTally(t *tally, r *http.Request, id fileid.ID, size int64, gr *grant) {
	if t == nil {
		return
	}
	t.to = t.aw.Offset()
	if h.log != nil && h.log.ack {
		t.line = h.log.newAckLine()
		gr.ack = t.line
	}
	if t.record = h.cfg.Accounting; t.record != nil {
		t.delivery(r, id, size, gr)
	}
	t.aw.WatchAck(t.from, t.to, t)
}

// Acked implements fastsrv.AckReceiver. The tally goes back to its pool at the end.
func (t *tally) Acked(acked int64) {
	if t.line != nil {
		t.line.ackDone(acked, t.to-t.from)
	}
	if t.record == nil {
		t.aw, t.line = nil, nil
		t.pool.Put(t)
		return
	}
	t.d.Acked = t.acked[:0]
	for _, p := range t.parts {
		if got := min(max(acked-p.Offset, 0), p.Len); got > 0 {
			t.d.Acked = append(t.d.Acked, accounting.Span{Start: p.Start, End: p.Start + got})
		}
	}
	t.d.Aborted = acked < t.to-t.from
	t.aw, t.line = nil, nil
	t.record(&t.d) // the accountant releases the tally: not touched after this
}

// delivery fills the accounting record of a response to r carrying t's parts of id.
func (t *tally) delivery(r *http.Request, id fileid.ID, size int64, gr *grant) {
	if id.Remote() != t.id.Remote() || id.Group() != t.id.Group() { // (the rest of an ID follows from these)
		t.id, t.idStr = id, id.String() // a pooled tally mostly serves the same files again
	}
	if r.RemoteAddr != t.d.Conn {
		t.d.Conn, t.host = r.RemoteAddr, clientHost(r)
	}
	d := &t.d
	d.User, d.Anonymous = gr.user, gr.user == ""
	if d.Anonymous {
		d.User = t.host
	}
	d.FileID, d.Size, d.Client = t.idStr, size, t.host
	d.Sent, d.Acked, d.Aborted = t.sent[:0], nil, false
	for _, p := range t.parts {
		d.Sent = append(d.Sent, accounting.Span{Start: p.Start, End: p.Start + p.Len})
	}
}

// clientHost is the host part of r.RemoteAddr (all of it when it is not host:port). An IPv4
// address with its port, the common case, is cut without net.SplitHostPort's parse.
func clientHost(r *http.Request) string {
	ra := r.RemoteAddr
	if i := strings.LastIndexByte(ra, ':'); i > 0 && ra[0] != '[' && strings.IndexByte(ra[:i], ':') < 0 {
		return ra[:i]
	}
	host, _, err := net.SplitHostPort(ra)
	if err != nil {
		return ra
	}
	return host
}
