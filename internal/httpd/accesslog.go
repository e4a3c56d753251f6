package httpd

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// accessLog writes nginx "combined" lines followed by the request time in seconds:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time
//
// record never blocks: lines go through a buffered channel to one writer goroutine, which
// flushes its bufio.Writer whenever the channel runs empty; when the channel is full the line
// is dropped and counted.
type accessLog struct {
	ch       chan *[]byte
	done     chan struct{}
	finished chan struct{}
	w        *bufio.Writer
	err      error // first write error, read after finished is closed
	dropped  atomic.Uint64
	pool     sync.Pool
	once     sync.Once
}

func newAccessLog(w io.Writer, buffer int) *accessLog {
	l := &accessLog{
		ch:       make(chan *[]byte, buffer),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
		w:        bufio.NewWriterSize(w, 64<<10),
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
			l.write(b)
			if len(l.ch) == 0 {
				l.flush()
			}
		case <-l.done:
			for {
				select {
				case b := <-l.ch:
					l.write(b)
				default:
					l.flush()
					return
				}
			}
		}
	}
}

func (l *accessLog) write(b *[]byte) {
	if _, err := l.w.Write(*b); err != nil && l.err == nil {
		l.err = err
	}
	*b = (*b)[:0]
	l.pool.Put(b)
}

func (l *accessLog) flush() {
	if err := l.w.Flush(); err != nil && l.err == nil {
		l.err = err
	}
}

// close writes what is queued, flushes and stops the writer. Lines recorded later are dropped.
func (l *accessLog) close() error {
	l.once.Do(func() { close(l.done) })
	<-l.finished
	return l.err
}

// record formats one line and queues it, or drops it when the queue is full or closed.
func (l *accessLog) record(r *http.Request, status int, sent int64, now time.Time, took time.Duration) {
	select {
	case <-l.done:
		l.dropped.Add(1)
		return
	default:
	}
	bp := l.pool.Get().(*[]byte)
	*bp = appendLogLine((*bp)[:0], r, status, sent, now, took)
	select {
	case l.ch <- bp:
	default:
		l.dropped.Add(1)
		*bp = (*bp)[:0]
		l.pool.Put(bp)
	}
}

// appendLogLine appends one access-log line for r.
func appendLogLine(b []byte, r *http.Request, status int, sent int64, now time.Time, took time.Duration) []byte {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	b = appendEscaped(b, host)
	b = append(b, " - - ["...)
	b = now.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendEscaped(b, r.Method)
	b = append(b, ' ')
	b = appendEscaped(b, r.RequestURI)
	b = append(b, ' ')
	b = appendEscaped(b, r.Proto)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, " \""...)
	b = appendField(b, r.Header["Referer"])
	b = append(b, "\" \""...)
	b = appendField(b, r.Header["User-Agent"])
	b = append(b, "\" "...)
	ms := took.Milliseconds()
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, '\n')
}

// appendField appends a header's first value, or "-" when absent, escaped as nginx does.
func appendField(b []byte, v []string) []byte {
	if len(v) == 0 || v[0] == "" {
		return append(b, '-')
	}
	return appendEscaped(b, v[0])
}

// appendEscaped appends s with '"', '\\', control and non-ASCII bytes written as \xHH, the way
// nginx escapes variables in log lines.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}
