package httpd

import (
	"net"
	"net/http"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/fileid"
)

// ackWatcher is what the storage node's server (fastsrv.AckWatcher) offers a handler: the
// socket offset of the next byte written, and a report of how much of a range of it the
// client acknowledged.
type ackWatcher interface {
	Offset() int64
	WatchAck(from, to int64, done func(acked int64))
}

// tally accounts one response body: the file parts it carries, from the socket offset at
// which the body began.
type tally struct {
	aw    ackWatcher
	from  int64
	parts []accounting.Part
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
	return &tally{aw: aw, from: aw.Offset()}
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
	to := t.aw.Offset()
	var a *ackLine
	if h.log != nil && h.log.ack {
		a = h.log.newAckLine()
		gr.ack = a
	}
	record := h.cfg.Accounting
	var d accounting.Delivery
	if record != nil {
		d = delivery(r, id, size, gr, t.parts)
	}
	parts, from := t.parts, t.from
	t.aw.WatchAck(from, to, func(acked int64) {
		if record != nil {
			d.Acked = accounting.AckedSpans(parts, acked)
			d.Aborted = acked < to-from
			record(d)
		}
		if a != nil {
			a.ackDone(acked, to-from)
		}
	})
}

// delivery returns the accounting record of a response to r carrying parts of id.
func delivery(r *http.Request, id fileid.ID, size int64, gr *grant, parts []accounting.Part) accounting.Delivery {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	user := gr.user
	if user == "" {
		user = host
	}
	d := accounting.Delivery{User: user, Anonymous: gr.user == "", FileID: id.String(), Size: size, Client: host, Conn: r.RemoteAddr}
	for _, p := range parts {
		d.Sent = append(d.Sent, accounting.Span{Start: p.Start, End: p.Start + p.Len})
	}
	return d
}
