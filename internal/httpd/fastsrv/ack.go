package fastsrv

import (
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AckWatcher is implemented by the server's http.ResponseWriter. It tells a handler how much of
// what it wrote the client's TCP stack acknowledged: bytes handed to the kernel are not bytes
// delivered (a client that stopped reading, or vanished, leaves them in socket buffers).
//
// A handler takes Offset before writing a body and again after, and passes both to WatchAck.
type AckWatcher interface {
	// Offset returns how many bytes this connection has output so far, counting output that
	// is still buffered in the server: the socket offset of the next byte written.
	Offset() int64
	// WatchAck calls done once, after the handler returned, with how many bytes of the socket
	// range [from, to) the peer acknowledged: all of them, or what it had when the connection
	// was reset, or when no more arrived for the server's SendTimeout. done runs on the
	// connection's goroutine before a later request on it, or on another goroutine; it must
	// not block. WatchAck never delays the connection: a connection that ends with a watch
	// pending is closed for writing (FIN sent) and its socket kept only until the watch
	// resolves.
	WatchAck(from, to int64, done AckReceiver)
}

// AckReceiver receives the result of AckWatcher.WatchAck. (An interface rather than a func so
// that a handler's own record can receive it without a closure per response.)
type AckReceiver interface {
	Acked(acked int64)
}

// AckFunc makes a func an AckReceiver.
type AckFunc func(acked int64)

// Acked calls f.
func (f AckFunc) Acked(acked int64) { f(acked) }

var _ AckWatcher = (*response)(nil)

// ConnValuer is implemented by the server's http.ResponseWriter: a place for a handler's own
// state of the connection (what stays the same from one request to the next), which lives
// and dies with the connection.
type ConnValuer interface {
	// ConnValue returns the connection's value: nil at its first request, then what a
	// handler stored there. Only the handler of the connection's current request may use it.
	ConnValue() *any
}

var _ ConnValuer = (*response)(nil)

// ConnValue implements ConnValuer.
func (w *response) ConnValue() *any { return &w.c.handlerValue }

// Offset implements AckWatcher.
func (w *response) Offset() int64 {
	if w.c.tls != nil {
		// TLS: pending plain text becomes records of a size not known before they are
		// written, so it is written now and the offset is exact in bytes on the wire.
		w.flushBuf()
		return w.c.sock
	}
	n := w.c.sock
	if w.buf != nil {
		n += int64(len(*w.buf))
	}
	return n
}

// WatchAck implements AckWatcher. The watch is a value in the connection's list, in socket
// order; a connection with watches pending is in the sweeper's list (see ackSweeper).
func (w *response) WatchAck(from, to int64, done AckReceiver) {
	c := w.c
	if to <= from || c.tcp == nil {
		done.Acked(0)
		return
	}
	if w.err != nil {
		// The send failed (reset, send timeout): what is acknowledged now is all there is.
		acked, _ := bytesAcked(c)
		done.Acked(min(max(acked-from, 0), to-from))
		return
	}
	c.sinceCheck++
	c.ackMu.Lock()
	c.acks = append(c.acks, watch{from: from, to: to, done: done})
	if c.ackListed {
		c.ackMu.Unlock()
		return
	}
	c.ackListed, c.ackMoved, c.ackEvery, c.ackNext = true, time.Time{}, 0, time.Time{}
	c.ackMu.Unlock()
	c.srv.acks().add(c)
}

// watch is one pending AckWatcher.WatchAck.
type watch struct {
	from, to int64
	done     AckReceiver
}

// resolve reports to w's receiver what of its range the socket offset acked covers.
func (w watch) resolve(acked int64) { w.done.Acked(min(max(acked-w.from, 0), w.to-w.from)) }

// ackBatch is how many watches a connection adds before its goroutine checks, at the next
// request, what its socket acknowledged (one ioctl for all of them). A client that sends its
// next request after reading a response has acknowledged it by then (the ACK travels no later
// than the request), so on a busy keep-alive connection watches resolve there, while their
// records are still in the cache, and never reach the sweeper's poll.
const ackBatch = 8

// checkAcks resolves the connection's watches that its socket acknowledged whole, on the
// connection's goroutine: SIOCOUTQ tells the bytes written but not yet acknowledged, so
// c.sock minus that is the acknowledged socket offset. Only between requests (nothing
// buffered, the socket open for writing).
func (c *conn) checkAcks() {
	c.sinceCheck = 0
	c.outq = -1
	if c.outqFn == nil {
		c.outqFn = c.readOutq
	}
	if c.tcp.Control(c.outqFn) != nil || c.outq < 0 {
		return
	}
	sock := c.sock
	if c.wire != nil {
		sock = c.wire.n.Load() // TLS: what crypto/tls wrote, also between requests
	}
	acked := sock - int64(c.outq)
	c.ackMu.Lock()
	n := 0
	for n < len(c.acks) && c.acks[n].to <= acked {
		n++
	}
	done := append(c.ackDone[:0], c.acks[:n]...)
	c.acks = shift(c.acks, n)
	if len(c.acks) == 0 {
		c.ackEvery, c.ackNext = 0, time.Time{} // the next watch is polled at the next tick
	}
	c.ackMu.Unlock()
	for i, w := range done {
		w.resolve(acked)
		done[i] = watch{}
	}
	c.ackDone = done[:0]
}

// shift drops the first n watches of list, keeping its array (and no references in its tail).
func shift(list []watch, n int) []watch {
	m := copy(list, list[n:])
	clear(list[m:])
	return list[:m]
}

// readOutq is c.outqFn: it reads the socket's SIOCOUTQ into c.outq.
func (c *conn) readOutq(fd uintptr) {
	var v int32
	if _, _, errno := syscall.RawSyscall(syscall.SYS_IOCTL, fd, unix.SIOCOUTQ, uintptr(unsafe.Pointer(&v))); errno == 0 {
		c.outq = int64(v)
	}
}

// ackMaxBackoff bounds how many Config.AckPoll intervals apart the sweeper polls a socket
// whose watches stay pending.
const ackMaxBackoff = 8

// ackSweeper polls the TCP_INFO of sockets with pending watches, once per socket and
// Config.AckPoll. It starts with the first watch, so a server whose handlers never watch has
// no such goroutine. The connections it polls are those with watches pending (conn.ackListed);
// one whose list it finds empty leaves it.
type ackSweeper struct {
	srv     *Server
	mu      sync.Mutex
	conns   []*conn
	closed  bool // set by close: later watches resolve at once
	once    sync.Once
	stop    chan struct{}
	stopped chan struct{}
	done    []watch // scratch of sweep
}

// acks returns the server's sweeper, starting it on first use.
func (s *Server) acks() *ackSweeper {
	s.ackOnce.Do(func() {
		a := &ackSweeper{srv: s, stop: make(chan struct{}), stopped: make(chan struct{})}
		s.ackSw.Store(a)
		go a.run()
	})
	return s.ackSw.Load()
}

// acksPending returns how many watches wait for acknowledgements.
func (s *Server) acksPending() int {
	a := s.ackSw.Load()
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.conns {
		c.ackMu.Lock()
		n += len(c.acks)
		c.ackMu.Unlock()
	}
	return n
}

// add puts c, which has just become ackListed, in the sweeper's list; once the sweeper is
// closed it resolves c's watches at once instead.
func (a *ackSweeper) add(c *conn) {
	a.mu.Lock()
	if !a.closed {
		a.conns = append(a.conns, c)
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	c.ackMu.Lock()
	c.ackListed = false
	c.ackMu.Unlock()
	a.settle(c)
}

// handOver is called when c's request loop ends: true means watches are pending, so the
// sweeper closes the socket once they resolve; false means the caller closes it now.
func (c *conn) handOver() bool {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	if len(c.acks) == 0 {
		return false
	}
	c.ended = true
	return true
}

func (a *ackSweeper) run() {
	defer close(a.stopped)
	t := time.NewTicker(a.srv.cfg.AckPoll)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			a.sweep(true)
			return
		case <-t.C:
			a.sweep(false)
		}
	}
}

// sweep polls every listed connection; final resolves all their watches with what is
// acknowledged now.
func (a *ackSweeper) sweep(final bool) {
	a.mu.Lock()
	list := a.conns
	a.conns = nil
	a.mu.Unlock()
	now := time.Now()
	keep := list[:0]
	for _, c := range list {
		if a.sweepConn(c, now, final) {
			keep = append(keep, c)
		}
	}
	clear(list[len(keep):])
	a.mu.Lock()
	a.conns = append(keep, a.conns...)
	a.mu.Unlock()
}

// sweepConn resolves c's watches that its socket acknowledged, or all of them when the socket
// is gone, made no progress for SendTimeout, or final is set. It reports whether c stays in
// the list; a connection whose request loop ended is closed once nothing is left to watch.
func (a *ackSweeper) sweepConn(c *conn, now time.Time, final bool) bool {
	c.ackMu.Lock()
	if len(c.acks) == 0 && !c.ended {
		c.ackListed = false
		if cap(c.acks) > 2*ackBatch {
			c.acks = nil // an idle connection keeps no large list
		}
		c.ackMu.Unlock()
		return false
	}
	if !final && now.Before(c.ackNext) {
		c.ackMu.Unlock()
		return true
	}
	acked, open := bytesAcked(c)
	a.srv.ackPolls.Add(1)
	if acked > c.ackSeen || c.ackMoved.IsZero() {
		c.ackSeen, c.ackMoved = max(acked, c.ackSeen), now
	}
	acked = c.ackSeen
	n := 0
	if final || !open || now.Sub(c.ackMoved) >= a.srv.cfg.SendTimeout {
		n = len(c.acks)
	} else {
		for n < len(c.acks) && c.acks[n].to <= acked {
			n++
		}
	}
	a.done = append(a.done[:0], c.acks[:n]...)
	c.acks = shift(c.acks, n)
	empty := len(c.acks) == 0
	if !empty {
		// Still waiting: the next poll comes later each time, up to ackMaxBackoff polls apart.
		// A slow client holding its last bytes for a minute costs a system call per
		// 800 ms, not per 100 ms. Once the list empties, the next watch is polled at the next
		// tick again.
		poll := a.srv.cfg.AckPoll
		c.ackEvery = min(max(2*c.ackEvery, poll), ackMaxBackoff*poll)
		c.ackNext = now.Add(c.ackEvery - poll/2)
	} else {
		c.ackEvery, c.ackNext = 0, time.Time{}
	}
	closeIt := empty && c.ended
	if empty && final {
		c.ackListed = false
	}
	c.ackMu.Unlock()
	for i, w := range a.done {
		w.resolve(acked)
		a.done[i] = watch{}
	}
	if closeIt {
		c.raw.Close()
		return false
	}
	return !final || !empty
}

// settle resolves c's pending watches with what c's socket acknowledged so far.
func (a *ackSweeper) settle(c *conn) {
	c.ackMu.Lock()
	mine := c.acks
	c.acks, c.ackEvery, c.ackNext = nil, 0, time.Time{}
	seen := c.ackSeen
	c.ackMu.Unlock()
	if len(mine) == 0 {
		return
	}
	acked, _ := bytesAcked(c)
	for _, w := range mine {
		w.resolve(max(acked, seen))
	}
}

// close resolves every pending watch with what is acknowledged now and stops the sweeper.
func (a *ackSweeper) close() {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.stop)
	})
	<-a.stopped
}

// bytesAcked returns the connection's tcpi_bytes_acked and whether the socket can still make
// progress (not closed, not reset). A socket that is gone reports false.
func bytesAcked(c *conn) (int64, bool) {
	var info *unix.TCPInfo
	var gerr error
	err := c.tcp.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || gerr != nil {
		return 0, false
	}
	if info.State == unix.BPF_TCP_CLOSE || info.State == unix.BPF_TCP_TIME_WAIT {
		// Reset, or closed both ways: nothing more will be acknowledged. (A peer that only
		// closed its side, CLOSE_WAIT, may still read: the progress timeout covers it.)
		return int64(info.Bytes_acked), false
	}
	return int64(info.Bytes_acked), true
}
