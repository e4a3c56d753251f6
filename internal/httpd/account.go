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

// startTally returns a tally for the body about to be written, or nil when accounting is off
// or the server cannot tell acknowledged bytes.
func (h *Handler) startTally(w http.ResponseWriter) *tally {
	if h.cfg.Accounting == nil {
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

// finish watches what the client acknowledges of the body and reports it to the accountant.
func (h *Handler) finishTally(t *tally, r *http.Request, id fileid.ID, size int64, gr *grant) {
	if t == nil {
		return
	}
	to := t.aw.Offset()
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	user := gr.user
	if user == "" {
		user = host
	}
	d := accounting.Delivery{User: user, Anonymous: gr.user == "", FileID: id.String(), Size: size, Client: host, Conn: r.RemoteAddr}
	parts, record := t.parts, h.cfg.Accounting
	for _, p := range parts {
		d.Sent = append(d.Sent, accounting.Span{Start: p.Start, End: p.Start + p.Len})
	}
	t.aw.WatchAck(t.from, to, func(acked int64) {
		d.Acked = accounting.AckedSpans(parts, acked)
		d.Aborted = acked < to-t.from
		record(d)
	})
}
