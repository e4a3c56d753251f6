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
//
// The watch resolves after the connection sent several more responses, when the tally has
// left the CPU's cache, and a pooled tally is as cold when it is taken again; so the fields
// are laid out by when they are used: what Acked reads first, then what the request
// writes, then the Delivery, filled when the watch resolves. (Whole-file bodies on the storage node's server
// take no tally unless the access log wants their acknowledgement: see connAcct.)
type tally struct {
	// what Acked reads
	from, to int64
	acct     *accounting.Accountant // nil when only the log wants the acknowledgement
	line     *ackLine               // the access-log line waiting for it, or nil
	pool     *sync.Pool

	// what the request writes
	aw    ackWatcher // while the body is written
	parts []accounting.Part
	one   [1]accounting.Part
	conn  string // r.RemoteAddr
	user  string // the user, or "" for the client address
	file  string // the file ID with its group
	size  int64  // the file's

	// a Delivery for the accountant's queue
	d     accounting.Delivery
	spans [2]accounting.Span // Sent and Acked of a single-part body
}

// newTally is the pool's constructor: the Delivery's Release hands the tally back.
func newTally(pool *sync.Pool) *tally {
	t := &tally{pool: pool}
	t.d.Release = t.release
	return t
}

func (t *tally) release() {
	t.line, t.acct = nil, nil
	t.pool.Put(t)
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
	t.aw, t.from, t.to, t.parts, t.acct, t.line = aw, aw.Offset(), 0, t.one[:0], nil, nil
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
	if t.acct = h.cfg.Accounting; t.acct != nil {
		t.conn, t.user, t.file, t.size = r.RemoteAddr, gr.user, fileIDString(r.URL.Path, id), size
	}
	aw := t.aw
	t.aw = nil
	aw.WatchAck(t.from, t.to, t) // last: the tally may be released in it
}

// Acked implements fastsrv.AckReceiver. The tally goes back to its pool at the end (the
// accountant counts a whole download acknowledged whole in Record, without its queue).
func (t *tally) Acked(acked int64) {
	if t.line != nil {
		t.line.ackDone(acked, t.to-t.from)
	}
	if t.acct == nil {
		t.release()
		return
	}
	t.delivery(acked, accounting.PairKey{})
	t.acct.Record(&t.d) // the accountant releases the tally: not touched after this
}

// delivery fills the Delivery of a body of which the client acknowledged acked bytes; pair
// is the key of its (user, file) when the caller has it (Record takes it otherwise).
func (t *tally) delivery(acked int64, pair accounting.PairKey) {
	d := &t.d
	d.Pair, d.Conn, d.Client, d.FileID, d.Size = pair, t.conn, clientHost(t.conn), t.file, t.size
	d.User, d.Anonymous = t.user, t.user == ""
	if d.Anonymous {
		d.User = d.Client
	}
	d.Sent, d.Acked = t.spans[:0:1], t.spans[1:1]
	if len(t.parts) > 1 {
		d.Sent, d.Acked = nil, nil
	}
	for _, p := range t.parts {
		d.Sent = append(d.Sent, accounting.Span{Start: p.Start, End: p.Start + p.Len})
		if got := min(max(acked-p.Offset, 0), p.Len); got > 0 {
			d.Acked = append(d.Acked, accounting.Span{Start: p.Start, End: p.Start + got})
		}
	}
	d.Aborted = acked < t.to-t.from
}

// fileIDString returns id.String(): the request's path without its slash when that is the
// file ID with its group (a file-ID URL, the usual case: no allocation), a new string
// otherwise (an X-Accel-Redirect, a URL without the group).
func fileIDString(path string, id fileid.ID) string {
	g, rem := id.Group(), id.Remote()
	if n := len(g); n > 0 && len(path) == n+len(rem)+2 && path[0] == '/' && path[n+1] == '/' &&
		path[1:n+1] == g && path[n+2:] == rem {
		return path[1:]
	}
	return id.String()
}

// wholeWriter is what the storage node's server offers for whole-file bodies: acknowledgement
// watches and a place for the connection's accounting context (connAcct).
type wholeWriter interface {
	ackWatcher
	fastsrv.ConnValuer
}

// connAcct is the acknowledgement receiver of a connection's bodies that carry a whole file,
// the common download: one per connection and (user, file), kept in the connection's value
// and made again when the user or the file changes. It is not written after it is made (watches
// still pending keep the one they were given), so it takes no lock; and as the connection uses
// it at every request it stays in the CPU's cache, unlike a pooled tally, which costs a cache
// miss or two per response by the time its watch resolves.
type connAcct struct {
	h          *Handler
	conn, host string // r.RemoteAddr and its host
	user, file string // user "" = the client address
	size       int64
	pair       accounting.PairKey
}

// startWhole returns, for a body that is the whole file (whole) and nothing else, the writer
// to watch its acknowledgement on the connection's context, and the socket offset of the body:
// nil when accounting is off, the access log wants the acknowledgement (a per-response line),
// or the server cannot do it; the caller then uses a tally.
func (h *Handler) startWhole(w http.ResponseWriter, whole bool) (wholeWriter, int64) {
	if !whole || h.cfg.Accounting == nil || h.log != nil && h.log.ack {
		return nil, 0
	}
	ww, ok := w.(wholeWriter)
	if !ok {
		return nil, 0
	}
	return ww, ww.Offset()
}

// finishWhole watches what the client acknowledges of the whole-file body written from the
// socket offset from, with the connection's context for (user, file) as the receiver.
func (h *Handler) finishWhole(ww wholeWriter, from int64, r *http.Request, id fileid.ID, size int64, gr *grant) {
	v := ww.ConnValue()
	c, _ := (*v).(*connAcct)
	if c == nil || c.size != size || c.user != gr.user || c.conn != r.RemoteAddr || !c.sameFile(r.URL.Path, id) {
		c = &connAcct{h: h, conn: r.RemoteAddr, host: clientHost(r.RemoteAddr), user: gr.user, size: size,
			file: fileIDString(r.URL.Path, id)}
		user := c.user
		if user == "" {
			user = c.host
		}
		c.pair = h.cfg.Accounting.PairKey(user, c.file)
		*v = c
	}
	ww.WatchAck(from, ww.Offset(), c)
}

// sameFile reports whether c.file is id with its group, as fileIDString would give it for a
// request for path (pointer-equal strings on a keep-alive connection asking the same URL again).
func (c *connAcct) sameFile(path string, id fileid.ID) bool {
	if len(path) > 0 && c.file == path[1:] {
		return true
	}
	g, rem := id.Group(), id.Remote()
	return len(c.file) == len(g)+1+len(rem) && c.file[len(g)] == '/' && c.file[:len(g)] == g && c.file[len(g)+1:] == rem
}

// Acked implements fastsrv.AckReceiver: a whole download acknowledged whole is counted as such
// (Accountant.Whole); anything else goes to the accountant's queue as a Delivery, in a tally.
func (c *connAcct) Acked(acked int64) {
	acct := c.h.cfg.Accounting
	if acked == c.size && acct.Whole(c.pair, c.size) {
		return
	}
	t := c.h.tallies.Get().(*tally)
	t.from, t.to, t.acct, t.line = 0, c.size, acct, nil
	t.parts = append(t.one[:0], accounting.Part{Start: 0, Len: c.size, Offset: 0})
	t.conn, t.user, t.file, t.size = c.conn, c.user, c.file, c.size
	t.delivery(acked, c.pair)
	acct.Record(&t.d) // the accountant releases the tally
}

// clientHost is the host part of a remote address (all of it when it is not host:port). An
// IPv4 address with its port, the common case, is cut without net.SplitHostPort's parse.
func clientHost(ra string) string {
	if i := strings.LastIndexByte(ra, ':'); i > 0 && ra[0] != '[' && strings.IndexByte(ra[:i], ':') < 0 {
		return ra[:i]
	}
	host, _, err := net.SplitHostPort(ra)
	if err != nil {
		return ra
	}
	return host
}
