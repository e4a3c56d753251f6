package httpd

import (
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lf "github.com/depotfs/depot/internal/logformat"
)

// accessLog writes one line per request in a compiled format (logformat.Default, nginx's
// "combined" plus the request time, unless Config.AccessLogFormat says otherwise).
//
// record never blocks: lines go through a buffered channel to one writer goroutine, which
// gathers them into batches of whole lines and writes a batch when the channel runs empty or
// the batch is full. The writer underneath only ever gets whole lines, so a rotating file
// (package logfile) can rotate between two writes without splitting one. When the channel is
// full the line is dropped and counted.
//
// When the format has an acknowledgement variable ($depot_bytes_acked, $request_completion),
// a response whose body the server watches (fastsrv.AckWatcher, see account.go) is logged once
// the client acknowledged the body or stopped: the handler formats the line with holes where
// those values go (ackLine), and the ack callback fills them and queues the line.
type accessLog struct {
	format     lf.Format
	ack        bool // the format has an acknowledgement variable
	completion bool // the format has $request_completion
	ch         chan *[]byte
	done       chan struct{}
	finished   chan struct{}
	out        io.Writer
	batch      []byte
	err        error // first write error, read after finished is closed
	dropped    atomic.Uint64
	pool       sync.Pool
	once       sync.Once
}

// batchSize bounds the bytes of whole lines handed to the writer in one Write (a longer line
// goes alone).
const batchSize = 64 << 10

func newAccessLog(w io.Writer, buffer int, format lf.Format) *accessLog {
	l := &accessLog{
		format:     format,
		ack:        format.Uses(lf.DepotBytesAcked) || format.Uses(lf.RequestCompletion),
		completion: format.Uses(lf.RequestCompletion),
		ch:         make(chan *[]byte, buffer),
		done:       make(chan struct{}),
		finished:   make(chan struct{}),
		out:        w,
		batch:      make([]byte, 0, batchSize),
	}
	l.pool.New = func() any { b := make([]byte, 0, 256); return &b }
	go l.run()
	return l
}

func (l *accessLog) run() {
	defer close(l.finished)
	for {
		select {
		case b := <-l.ch:
			l.add(b)
			if len(l.ch) == 0 {
				l.flush()
			}
		case <-l.done:
			for {
				select {
				case b := <-l.ch:
					l.add(b)
				default:
					l.flush()
					return
				}
			}
		}
	}
}

// add appends a line to the batch, writing the batch first when the line does not fit.
func (l *accessLog) add(b *[]byte) {
	if len(l.batch)+len(*b) > cap(l.batch) {
		l.flush()
	}
	if len(*b) > cap(l.batch) {
		l.write(*b)
	} else {
		l.batch = append(l.batch, *b...)
	}
	l.put(b)
}

func (l *accessLog) flush() {
	if len(l.batch) > 0 {
		l.write(l.batch)
		l.batch = l.batch[:0]
	}
}

func (l *accessLog) write(p []byte) {
	if _, err := l.out.Write(p); err != nil && l.err == nil {
		l.err = err
	}
}

func (l *accessLog) put(b *[]byte) {
	*b = (*b)[:0]
	l.pool.Put(b)
}

// close writes what is queued and stops the writer. Lines recorded later are dropped.
func (l *accessLog) close() error {
	l.once.Do(func() { close(l.done) })
	<-l.finished
	return l.err
}

// record formats e's line and queues it.
func (l *accessLog) record(e *logEntry) {
	bp := l.pool.Get().(*[]byte)
	*bp = appendLine((*bp)[:0], &l.format, e, nil)
	l.enqueue(bp)
}

// enqueue queues a line, or drops it when the queue is full or closed.
func (l *accessLog) enqueue(bp *[]byte) {
	select {
	case <-l.done:
	default:
		select {
		case l.ch <- bp:
			return
		default:
		}
	}
	l.dropped.Add(1)
	l.put(bp)
}

// logRequest records the line of a request the handler finished: at once, or, when the
// acknowledgement of its body is watched (gr.ack), once the client acknowledged it.
func (h *Handler) logRequest(w http.ResponseWriter, r *http.Request, gr *grant, status int, n int64, start time.Time) {
	e := logEntry{r: r, w: w, status: status, body: n, now: h.cfg.Now(), took: time.Since(start), user: gr.user}
	if h.log.completion {
		e.complete = wroteAll(w, r, n)
	}
	if a := gr.ack; a != nil {
		a.line = h.log.pool.Get().(*[]byte)
		*a.line = appendLine((*a.line)[:0], &h.log.format, &e, &a.holes)
		a.complete = e.complete
		a.arrive()
		return
	}
	h.log.record(&e)
}

// wroteAll reports whether a response with n body bytes was written in full: a HEAD, a
// response without Content-Length, or one whose body has all of it.
func wroteAll(w http.ResponseWriter, r *http.Request, n int64) bool {
	cl := w.Header()["Content-Length"]
	if r.Method == http.MethodHead || len(cl) == 0 {
		return true
	}
	want, err := strconv.ParseInt(cl[0], 10, 64)
	return err != nil || n >= want
}

// ackLine is an access-log line waiting for the client to acknowledge a response's body. The
// handler (line formatted, holes noted) and the ack callback (acked, want) each arrive once;
// the second fills the holes and queues the line.
type ackLine struct {
	log      *accessLog
	line     *[]byte
	holes    []hole
	complete bool  // written in full
	acked    int64 // body bytes acknowledged
	want     int64 // body bytes watched
	left     atomic.Int32
}

func (l *accessLog) newAckLine() *ackLine {
	a := &ackLine{log: l}
	a.left.Store(2)
	return a
}

// ackDone is the ack callback's arrival.
func (a *ackLine) ackDone(acked, want int64) {
	a.acked, a.want = acked, want
	a.arrive()
}

func (a *ackLine) arrive() {
	if a.left.Add(-1) != 0 {
		return
	}
	l := a.log
	bp := l.pool.Get().(*[]byte)
	b, src, prev := (*bp)[:0], *a.line, 0
	complete := a.complete && a.acked >= a.want
	for _, h := range a.holes {
		b = append(b, src[prev:h.pos]...)
		b = appendLate(b, h.v, a.acked, complete)
		prev = h.pos
	}
	*bp = append(b, src[prev:]...)
	l.put(a.line)
	l.enqueue(bp)
}
