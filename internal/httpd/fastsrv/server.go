package fastsrv

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config configures a Server. Zero values take the defaults noted on each field.
type Config struct {
	Handler http.Handler // required
	// ReadHeaderTimeout bounds the time from the first byte of a request to the end of its
	// headers (0 = 30s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive connection (0 = 5m).
	IdleTimeout time.Duration
	// SendTimeout ends a connection whose response moves no byte to the client for this long
	// (a client that stopped reading): it is checked per write and across a sendfile body,
	// and a stalled connection is closed within about twice the timeout (0 = 60s).
	SendTimeout time.Duration
	// MaxHeaderBytes bounds the request line plus headers (0 = 64 KiB).
	MaxHeaderBytes int
	// CopyBelow: a file body of at most this many bytes is read into the response buffer and
	// sent with the header in one write; a larger one goes out with sendfile(2). 0 = 16 KiB;
	// negative = always sendfile.
	CopyBelow int64
	// NotSentLowat is TCP_NOTSENT_LOWAT of every connection: the kernel takes more of a
	// response only while less than this is queued unsent, so thousands of slow clients do not
	// each park megabytes in kernel send buffers (which on loopback grow to 4 MiB and can
	// exhaust tcp_mem, starving every other connection). 0 = 16 KiB; negative = the kernel's
	// default (no limit).
	NotSentLowat int
	// AckPoll is how often the acknowledged bytes of sockets with pending AckWatcher watches
	// are read (0 = 100ms).
	AckPoll time.Duration
	// TLS, when set, makes the server HTTPS: every connection starts with a TLS handshake
	// (bounded by ReadHeaderTimeout) and bodies go through crypto/tls in buffered writes
	// instead of sendfile(2) (see the package doc). Certificates may be swapped through its
	// GetCertificate. Nil = plain HTTP.
	TLS    *tls.Config
	Logger *slog.Logger // nil = discard
}

// Connection states, for Shutdown.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed
)

// Server serves HTTP/1.1 on the listeners given to Serve. It is safe for concurrent use.
type Server struct {
	cfg      Config
	rbufs    sync.Pool // *[]byte of readBufSize
	wbufs    sync.Pool // *[]byte of the write buffer size
	wbufSize int

	mu       sync.Mutex
	lns      map[net.Listener]struct{}
	conns    map[*conn]struct{}
	closing  atomic.Bool
	shutdown atomic.Bool

	sendTimeouts atomic.Int64  // connections closed for a client that stopped reading
	connSerial   atomic.Uint64 // serial number of the last accepted connection
	bodies       bodyCounters

	ackOnce sync.Once
	ackSw   atomic.Pointer[ackSweeper] // nil until a handler first watches acknowledgements
}

// SendTimeouts reports how many connections were closed because their client took no bytes
// for Config.SendTimeout.
func (s *Server) SendTimeouts() int64 { return s.sendTimeouts.Load() }

// bodyCounters count file bodies by how they left. Each is one atomic add per body; the
// padding keeps them off the cache line of the fields every request reads (shutdown).
type bodyCounters struct {
	_        [64]byte
	copied   atomic.Uint64
	sendfile atomic.Uint64
	tls      atomic.Uint64
	_        [64]byte
}

// BodyCounts are the file bodies a Server sent, by how (see ResponseWriter.ReadFrom).
type BodyCounts struct {
	// Copied bodies (at most Config.CopyBelow bytes) were read into the output buffer behind
	// the header and left with it in one send.
	Copied uint64
	// Sendfile bodies followed the header with sendfile(2).
	Sendfile uint64
	// TLS bodies went through crypto/tls from the output buffer (Config.TLS).
	TLS uint64
}

// Bodies reports how many file bodies were copied behind the header and how many went with
// sendfile(2) since the Server was made. Other bodies (a handler's Write calls, a reader that
// is not a file) are in neither count.
func (s *Server) Bodies() BodyCounts {
	return BodyCounts{Copied: s.bodies.copied.Load(), Sendfile: s.bodies.sendfile.Load(), TLS: s.bodies.tls.Load()}
}

const (
	readBufSize     = 4 << 10
	headerReserve   = 4 << 10 // room for the response header in front of a copied body
	defaultMaxHdr   = 64 << 10
	defaultCopy     = 16 << 10
	shutdownPollGap = 10 * time.Millisecond
)

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 30 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 60 * time.Second
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = defaultMaxHdr
	}
	if cfg.MaxHeaderBytes < readBufSize {
		cfg.MaxHeaderBytes = readBufSize
	}
	if cfg.NotSentLowat == 0 {
		cfg.NotSentLowat = 16 << 10
	}
	if cfg.AckPoll <= 0 {
		cfg.AckPoll = 100 * time.Millisecond
	}
	if cfg.CopyBelow == 0 {
		cfg.CopyBelow = defaultCopy
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		if len(cfg.TLS.NextProtos) == 0 {
			cfg.TLS.NextProtos = []string{"http/1.1"}
		}
		// Full-size records from the first byte: crypto/tls otherwise starts each connection
		// with records of one segment (a write(2) each) for its first 128 KB, which helps a
		// browser render early and costs a download server throughput.
		cfg.TLS.DynamicRecordSizingDisabled = true
	}
	s := &Server{cfg: cfg, lns: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	s.wbufSize = headerReserve + int(max(cfg.CopyBelow, 0))
	s.rbufs.New = func() any { b := make([]byte, readBufSize); return &b }
	s.wbufs.New = func() any { b := make([]byte, 0, s.wbufSize); return &b }
	return s
}

// Serve accepts connections on ln and serves each on its own goroutine until Close or
// Shutdown, when it returns http.ErrServerClosed. It closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// Close closes the listeners and every connection at once; requests in flight are cut.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.raw.Close()
	}
	s.mu.Unlock()
	if sw := s.ackSw.Load(); sw != nil {
		sw.close() // resolves what is pending with what was acknowledged
	}
	return nil
}

// Shutdown closes the listeners, then closes connections as they become idle (a request in
// flight is answered first) until none is left or ctx is done, when it closes the rest and
// returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.shutdown.Store(true)
	s.mu.Lock()
	for ln := range s.lns {
		ln.Close()
	}
	s.mu.Unlock()
	t := time.NewTicker(shutdownPollGap)
	defer t.Stop()
	for {
		if s.closeIdle() == 0 && s.acksPending() == 0 {
			if sw := s.ackSw.Load(); sw != nil {
				sw.close()
			}
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// closeIdle closes the idle connections and returns how many connections are left. The
// acknowledgement watches pending on one are resolved first, while its socket can still
// tell what the client acknowledged.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	var idle []*conn
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			idle = append(idle, c)
		}
	}
	left := len(s.conns)
	s.mu.Unlock()
	sw := s.ackSw.Load()
	for _, c := range idle {
		if sw != nil {
			sw.settle(c)
		}
		c.raw.Close()
	}
	return left
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}
