package fastsrv

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// tcpNotSentLowat is TCP_NOTSENT_LOWAT of linux/tcp.h (package syscall does not name it).
const tcpNotSentLowat = 25

// conn is one client connection and the request, URL and header it reuses.
type conn struct {
	srv     *Server
	nc      net.Conn // what requests are read from and responses written to: raw, or tls
	raw     net.Conn // the accepted connection (closed to cut the connection at once)
	tls     *tls.Conn
	wire    *wireConn       // with TLS: raw, counting the bytes written to the socket
	serial  uint64          // ConnSerial: 1 for the server's first connection
	rc      syscall.RawConn // raw reads and writes; nil with TLS or without a file descriptor
	tcp     syscall.RawConn // the socket, for options and TCP_INFO (also with TLS); may be nil
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
	wpend   []byte  // what writeRaw has still to send
	wflags  uintptr // send(2) flags for writeRaw (MSG_MORE before a sendfile body)
	werr    error
	state   atomic.Int32

	// sendfile state (sendfile.go), owned by the connection's goroutine.
	sendfileFn func(fd uintptr) bool // c.sendfileRaw, made on first use
	sfIn       int                   // the file's descriptor
	sfLeft     int64                 // bytes still to send
	sfSent     int64                 // bytes sent by this call

	rbuf *[]byte // nil while idle; unread request bytes are (*rbuf)[r:w]
	r, w int
	big  []byte // a request larger than readBufSize, while it is parsed
	rn   int
	rerr error

	req          *http.Request
	uri          string   // request-target of the previous request; req.URL was parsed from it
	url          *url.URL // parsed uri
	method       string
	hdr          http.Header
	prev         []field // header fields of the previous request, reused when equal
	cur          []field
	resp         response
	cancel       context.CancelFunc
	handlerValue any // ConnValue

	dateSec int64
	date    [29]byte

	deadlineAt  time.Time     // read deadline last set
	deadlineFor time.Duration // the timeout it was set for
	wdeadlineAt time.Time     // write deadline last set
	wprogress   bool          // bytes moved since the write deadline was set
	sock        int64         // bytes written to the socket (AckWatcher offsets)

	// AckWatcher state (ack.go). The connection's goroutine owns sinceCheck, outq, outqFn
	// and ackDone; ackMu guards the rest (the sweeper polls the socket on its goroutine).
	sinceCheck int              // watches added since the last checkAcks
	outq       int64            // SIOCOUTQ as read by outqFn
	outqFn     func(fd uintptr) // c.readOutq, made on first use
	ackDone    []watch          // checkAcks's scratch
	ackMu      sync.Mutex
	acks       []watch       // pending watches, in socket order
	ackListed  bool          // in the sweeper's list (always, while acks is not empty)
	ackSeen    int64         // bytes_acked as the sweeper last read it
	ackMoved   time.Time     // when the sweeper saw ackSeen move (zero: not yet looked)
	ackEvery   time.Duration // the sweeper's interval between polls of this socket
	ackNext    time.Time     // no poll before then
	ended      bool          // the request loop ended with watches pending
}

// field is one parsed header field; vals is the one-element slice stored in the header map.
type field struct {
	key  string
	vals []string
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, raw: nc, hdr: make(http.Header, 8), serial: s.connSerial.Add(1)}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.rc, c.tcp = rc, rc
			if lowat := s.cfg.NotSentLowat; lowat > 0 {
				rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotSentLowat, lowat) })
			}
		}
	}
	if s.cfg.TLS != nil {
		c.wire = &wireConn{Conn: nc}
		c.tls = tls.Server(c.wire, s.cfg.TLS)
		c.nc, c.rc = c.tls, nil
	}
	c.readFn, c.writeFn = c.readRaw, c.writeRaw
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	ctx, c.cancel = context.WithCancel(ctx)
	c.req = (&http.Request{RemoteAddr: nc.RemoteAddr().String(), Body: http.NoBody}).WithContext(ctx)
	c.resp.c = c
	c.resp.hdr = make(http.Header, 8)
	c.state.Store(stateIdle)
	return c
}

// serve runs the request loop until the connection ends.
func (c *conn) serve() {
	defer func() {
		// http.ErrAbortHandler is a handler's way to cut a response short (net/http's
		// contract): the connection closes without the rest of it, and without a log line.
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			c.srv.cfg.Logger.Error("panic serving a request", "remote", c.req.RemoteAddr, "panic", p, "stack", string(debug.Stack()))
		}
		c.cancel()
		c.end()
		c.releaseRead()
		c.resp.release()
		c.srv.forget(c)
	}()
	if c.tls != nil && !c.handshake() {
		return
	}
	for {
		status, msg := c.readRequest()
		if status == -1 {
			return // closed, timed out or EOF between requests
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // Shutdown closed it
		}
		if status != 0 {
			c.resp.start(c.req, true)
			c.resp.fail(status, msg)
			c.resp.finish()
			return
		}
		if c.big == nil && c.r == c.w {
			c.releaseRead() // nothing pipelined: a long response holds no read buffer
		}
		if c.sinceCheck >= ackBatch {
			c.checkAcks()
		}
		c.resp.start(c.req, c.req.Close)
		c.srv.cfg.Handler.ServeHTTP(&c.resp, c.req)
		if !c.resp.finish() || c.resp.closeAfter || c.srv.shutdown.Load() {
			return
		}
		c.state.Store(stateIdle)
	}
}

// end closes the connection, or, when AckWatcher watches are pending on it, closes it for
// writing (the client sees the end of the stream) and lets the sweeper close it once they
// resolve. Watches whose bytes are acknowledged already (a client that read everything and
// closed) resolve here.
func (c *conn) end() {
	if c.sinceCheck > 0 {
		c.checkAcks()
	}
	if c.handOver() {
		if c.tls != nil {
			c.tls.CloseWrite() // close_notify; the FIN follows
		}
		if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		return
	}
	c.nc.Close()
}

// readRaw is called by RawConn.Read with the socket: it reads what is there into the read
// buffer. When nothing is there it hands the buffer back to the pool and returns false to park
// until the socket is readable, so an idle connection holds no buffer.
func (c *conn) readRaw(fd uintptr) bool {
	buf := c.readSpace()
	for {
		// A raw system call: the socket is non-blocking, so read(2) cannot block, and the
		// scheduler's enter/exit bookkeeping of syscall.Read is saved.
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch errno {
		case 0:
			c.rn, c.rerr = int(n), nil
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if c.r == c.w && c.big == nil {
				c.releaseRead()
			}
			return false
		}
		c.rn, c.rerr = 0, errno
		return true
	}
}

// write sends all of b to the connection.
func (c *conn) write(b []byte) error { return c.send(b, 0) }

// send sends all of b with send(2) flags: MSG_MORE tells TCP that more data follows at once
// (the header before a sendfile body), so the header leaves in the body's first segment.
func (c *conn) send(b []byte, flags uintptr) error {
	if c.tls != nil {
		return c.writeTLS(b)
	}
	if c.rc == nil || len(b) == 0 {
		n, err := c.nc.Write(b)
		c.sock += int64(n)
		return err
	}
	c.wpend, c.werr, c.wflags = b, nil, flags
	c.wdeadline(false)
	for {
		err := c.rc.Write(c.writeFn)
		if err != nil && c.sendStalled(err) {
			continue
		}
		c.wpend = nil
		if err != nil {
			return err
		}
		return c.werr
	}
}

// wdeadline sets the write deadline to now+SendTimeout; like deadline, one that is less than
// 1/8 of the timeout (at most a second) short of that is kept unless force is set.
func (c *conn) wdeadline(force bool) {
	d := c.srv.cfg.SendTimeout
	at := time.Now().Add(d)
	if !force && at.Sub(c.wdeadlineAt) < min(d/8, time.Second) {
		return
	}
	c.wdeadlineAt, c.wprogress = at, false
	c.nc.SetWriteDeadline(at)
}

// sendStalled is called with a write's error: for a passed write deadline after which bytes
// still moved it sets a new deadline and reports true (write on); a deadline with no progress
// is a client that stopped reading: counted, logged, and the error stands.
func (c *conn) sendStalled(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if c.wprogress {
		c.wdeadline(true)
		return true
	}
	c.srv.sendTimeouts.Add(1)
	c.srv.cfg.Logger.Info("send timeout: the client took no bytes; closing", "remote", c.nc.RemoteAddr().String(), "timeout", c.srv.cfg.SendTimeout)
	return false
}

// writeRaw is called by RawConn.Write with the socket: it writes what it can of c.wpend and
// returns false to wait until the socket is writable again.
func (c *conn) writeRaw(fd uintptr) bool {
	for len(c.wpend) > 0 {
		// Raw for the same reason as readRaw: write(2) on a non-blocking socket never blocks.
		n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&c.wpend[0])), uintptr(len(c.wpend)), c.wflags, 0, 0)
		switch errno {
		case 0:
			c.wpend = c.wpend[n:]
			c.sock += int64(n)
			c.wprogress = c.wprogress || n > 0
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = errno
			return true
		}
	}
	return true
}

// readSpace returns the free tail of the current read buffer, taking one from the pool.
func (c *conn) readSpace() []byte {
	if c.big != nil {
		return c.big[c.w:]
	}
	if c.rbuf == nil {
		c.rbuf = c.srv.rbufs.Get().(*[]byte)
		c.r, c.w = 0, 0
	}
	return (*c.rbuf)[c.w:]
}

func (c *conn) releaseRead() {
	if c.rbuf != nil {
		c.srv.rbufs.Put(c.rbuf)
		c.rbuf = nil
	}
}

// buffered returns the unread bytes.
func (c *conn) buffered() []byte {
	if c.big != nil {
		return c.big[c.r:c.w]
	}
	if c.rbuf == nil {
		return nil
	}
	return (*c.rbuf)[c.r:c.w]
}

// fill reads more bytes from the connection.
func (c *conn) fill() error {
	c.makeRoom()
	c.rn, c.rerr = 0, nil
	if c.rc != nil {
		if err := c.rc.Read(c.readFn); err != nil {
			return err
		}
	} else {
		c.rn, c.rerr = c.nc.Read(c.readSpace())
	}
	if c.rn > 0 {
		c.w += c.rn
		return nil
	}
	if c.rerr != nil {
		return c.rerr
	}
	return io.EOF
}

// makeRoom makes the read buffer's tail non-empty: it moves the unread bytes to the front, or
// grows into a larger buffer (up to MaxHeaderBytes) for a large request.
func (c *conn) makeRoom() {
	cur := c.readSpace()
	if len(cur) > 0 {
		return
	}
	data := c.buffered()
	if c.r > 0 {
		var whole []byte
		if c.big != nil {
			whole = c.big
		} else {
			whole = *c.rbuf
		}
		n := copy(whole, data)
		c.r, c.w = 0, n
		return
	}
	size := 2 * len(data)
	big := make([]byte, min(size, c.srv.cfg.MaxHeaderBytes+1))
	copy(big, data)
	c.releaseRead()
	c.big, c.r, c.w = big, 0, len(data)
}

// doneRequest consumes n bytes and drops a large buffer once it is empty.
func (c *conn) consume(n int) {
	c.r += n
	if c.r == c.w {
		c.r, c.w = 0, 0
		c.big = nil
	}
}

// deadline sets the read deadline to now+d, ignoring errors of a closed connection. Moving a
// deadline costs a timer update, so one already set for the same timeout is kept while it is
// less than d/8 (at most a second) short of now+d: a connection may then time out that much
// early.
func (c *conn) deadline(d time.Duration) {
	at := time.Now().Add(d)
	if d == c.deadlineFor && at.Sub(c.deadlineAt) < min(d/8, time.Second) {
		return
	}
	c.deadlineAt, c.deadlineFor = at, d
	c.nc.SetReadDeadline(at)
}

// isFileBody reports whether r is what io.CopyN makes of an *os.File.
func isFileBody(r io.Reader) (*io.LimitedReader, *os.File, bool) {
	lr, ok := r.(*io.LimitedReader)
	if !ok {
		return nil, nil, false
	}
	f, ok := lr.R.(*os.File)
	return lr, f, ok
}
