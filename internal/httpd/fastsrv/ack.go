package fastsrv

import (
	"sync"
	"time"

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
	// WatchAck calls done once, on another goroutine and after the handler returned, with how
	// many bytes of the socket range [from, to) the peer acknowledged: all of them, or what it
	// had when the connection was reset, or when no more arrived for the server's SendTimeout.
	// It never delays the connection: a connection that ends with a watch pending is closed
	// for writing (FIN sent) and its socket kept only until the watch resolves.
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

// WatchAck implements AckWatcher.
func (w *response) WatchAck(from, to int64, done AckReceiver) {
	if to <= from || w.c.tcp == nil {
		done.Acked(0)
		return
	}
	if w.err != nil {
		// The send failed (reset, send timeout): what is acknowledged now is all there is.
		acked, _ := bytesAcked(w.c)
		done.Acked(min(max(acked-from, 0), to-from))
		return
	}
	w.c.srv.acks().add(&watch{c: w.c, from: from, to: to, done: done})
}

// watch is one pending AckWatcher.WatchAck.
type watch struct {
	c        *conn
	from, to int64
	done     AckReceiver
	acked    int64     // last bytes_acked seen
	progress time.Time // when acked last moved (or the watch began)
}

// ackSweeper polls the TCP_INFO of sockets with pending watches. It starts with the first
// watch, so a server whose handlers never watch has no such goroutine.
type ackSweeper struct {
	srv     *Server
	mu      sync.Mutex
	pending []*watch
	closed  bool // set by close: later watches resolve at once
	once    sync.Once
	stop    chan struct{}
	stopped chan struct{}
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
	return len(a.pending)
}

func (a *ackSweeper) add(wt *watch) {
	wt.progress = time.Now()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		acked, _ := bytesAcked(wt.c)
		wt.done.Acked(min(max(acked-wt.from, 0), wt.to-wt.from))
		return
	}
	a.pending = append(a.pending, wt)
	wt.c.watches++
	a.mu.Unlock()
}

// handOver is called when c's request loop ends: true means watches are pending, so the
// sweeper closes the socket once they resolve; false means the caller closes it now.
func (a *ackSweeper) handOver(c *conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.watches == 0 {
		return false
	}
	c.ended = true
	return true
}

// resolved notes that one of c's watches resolved and reports whether c is now to be closed
// (its request loop ended and nothing more is watched).
func (a *ackSweeper) resolved(c *conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c.watches--
	return c.ended && c.watches == 0
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

// ackState is one socket's acknowledgement as read in one sweep.
type ackState struct {
	acked int64
	open  bool
}

// sweep checks every pending watch; final resolves all of them with what is acknowledged now.
// Each socket's TCP_INFO is read once per sweep, however many watches it has (a keep-alive
// connection serving small files has dozens between two sweeps).
func (a *ackSweeper) sweep(final bool) {
	a.mu.Lock()
	list := a.pending
	a.pending = nil
	a.mu.Unlock()
	now := time.Now()
	var keep []*watch
	var closeConns []*conn
	seen := make(map[*conn]ackState)
	for _, wt := range list {
		st, ok := seen[wt.c]
		if !ok {
			st.acked, st.open = bytesAcked(wt.c)
			seen[wt.c] = st
		}
		if st.acked > wt.acked {
			wt.acked, wt.progress = st.acked, now
		}
		if !final && st.open && wt.acked < wt.to && now.Sub(wt.progress) < a.srv.cfg.SendTimeout {
			keep = append(keep, wt)
			continue
		}
		wt.done.Acked(min(max(wt.acked-wt.from, 0), wt.to-wt.from))
		if a.resolved(wt.c) {
			closeConns = append(closeConns, wt.c)
		}
	}
	a.mu.Lock()
	a.pending = append(keep, a.pending...)
	a.mu.Unlock()
	for _, c := range closeConns {
		c.raw.Close()
	}
}

// settle resolves c's pending watches with what c's socket acknowledged so far.
func (a *ackSweeper) settle(c *conn) {
	a.mu.Lock()
	var mine, rest []*watch
	for _, wt := range a.pending {
		if wt.c == c {
			mine = append(mine, wt)
		} else {
			rest = append(rest, wt)
		}
	}
	a.pending = rest
	a.mu.Unlock()
	for _, wt := range mine {
		acked, _ := bytesAcked(c)
		wt.done.Acked(min(max(max(acked, wt.acked)-wt.from, 0), wt.to-wt.from))
		a.resolved(c)
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
