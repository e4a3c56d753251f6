package fdfsproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Handler serves one request. It reads the body through c (Body or ReadBody) and answers
// with c.Reply, or with c.ReplyHeader and the body it streams (c.Write, c.SendFile). An
// error it returns before answering becomes the response status (StatusOf); after it
// answered, the connection is closed. Handlers are called one request at a time per
// connection, from many connections at once.
type Handler interface {
	ServeFDFS(ctx context.Context, c *Conn, h Header) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, h Header) error

// ServeFDFS calls f.
func (f HandlerFunc) ServeFDFS(ctx context.Context, c *Conn, h Header) error { return f(ctx, c, h) }

// Error is an error with the status byte it is answered with.
type Error struct {
	Status byte
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%v (status %d)", e.Err, e.Status) }
func (e *Error) Unwrap() error { return e.Err }

// Fail wraps err with the status it is answered with.
func Fail(status byte, err error) error { return &Error{Status: status, Err: err} }

// StatusOf is the status an error is answered with: an *Error's, EINVAL for ErrTooLarge,
// else EIO.
func StatusOf(err error) byte {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.Is(err, ErrTooLarge):
		return StatusInval
	}
	return StatusIO
}

// Options configure Serve.
type Options struct {
	// MaxConnections is how many connections are served at once (max_connections); one
	// more is closed as soon as it is accepted. 0 = no limit.
	MaxConnections int
	// NetworkTimeout bounds every wait for the peer (network_timeout): a request header,
	// each read of a body, each write of an answer. An idle connection closes after it.
	NetworkTimeout time.Duration
	Logger         *slog.Logger
}

// Server serves FastDFS frames on listeners.
type Server struct {
	h    Handler
	o    Options
	log  *slog.Logger
	sem  chan struct{}
	mu   sync.Mutex
	lns  map[net.Listener]struct{}
	cons map[net.Conn]*connState
	done bool
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc
}

// NewServer returns a server of h.
func NewServer(h Handler, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NetworkTimeout <= 0 {
		o.NetworkTimeout = 30 * time.Second
	}
	s := &Server{h: h, o: o, log: o.Logger, lns: map[net.Listener]struct{}{}, cons: map[net.Conn]*connState{}}
	if o.MaxConnections > 0 {
		s.sem = make(chan struct{}, o.MaxConnections)
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	return s
}

// Serve accepts connections on ln until it fails or Close; it returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return nil
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			done := s.done
			s.mu.Unlock()
			if done || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("fdfs: accept on %s: %w", ln.Addr(), err)
		}
		if s.sem != nil {
			select {
			case s.sem <- struct{}{}:
			default:
				s.log.Warn("connection refused: max_connections reached", "remote", c.RemoteAddr().String(), "max_connections", s.o.MaxConnections)
				c.Close()
				continue
			}
		}
		if !s.track(c) {
			c.Close()
			s.release()
			continue
		}
		go s.serveConn(c)
	}
}

func (s *Server) release() {
	if s.sem != nil {
		<-s.sem
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return false
	}
	s.cons[c] = &connState{}
	s.wg.Add(1)
	return true
}

// connState tells whether a connection waits for a request (idle) or serves one.
type connState struct{ busy bool }

// setBusy records whether nc serves a request; false once the server is shutting down,
// when an idle connection must not start another.
func (s *Server) setBusy(nc net.Conn, busy bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.cons[nc]; st != nil {
		st.busy = busy
	}
	return !(s.done && !busy)
}

// Close stops accepting, closes every connection (a request in progress fails and leaves
// nothing half-written: the store drops partial files) and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.done = true
	for ln := range s.lns {
		ln.Close()
	}
	for c := range s.cons {
		c.Close()
	}
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	return nil
}

// Shutdown stops accepting, closes the idle connections, and waits until the requests in
// flight end (their connections close after their answer) or ctx is done, then closes
// those left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.done = true
	for ln := range s.lns {
		ln.Close()
	}
	for c, st := range s.cons {
		if !st.busy {
			c.Close()
		}
	}
	s.mu.Unlock()
	idle := make(chan struct{})
	go func() { s.wg.Wait(); close(idle) }()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	return s.Close()
}

func (s *Server) serveConn(nc net.Conn) {
	raw, pre := unwrap(nc)
	c := &Conn{raw: raw, pre: pre, timeout: s.o.NetworkTimeout}
	defer func() {
		raw.Close()
		s.mu.Lock()
		delete(s.cons, nc)
		s.mu.Unlock()
		s.release()
		s.wg.Done()
	}()
	for {
		if !s.setBusy(nc, false) {
			return
		}
		c.setReadDeadline()
		h, err := ReadHeader(c)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("connection closed", "remote", raw.RemoteAddr().String(), "err", err)
			}
			return
		}
		s.setBusy(nc, true)
		if !s.serveOne(c, h) {
			return
		}
	}
}

// drainMax is how much unread body Serve skips to keep a connection after a refused request.
const drainMax = 64 << 10

// serveOne serves one request; false closes the connection.
func (s *Server) serveOne(c *Conn, h Header) bool {
	c.remain, c.replied, c.broken = h.Len, false, nil
	var err error
	switch h.Cmd {
	case CmdQuit:
		return false
	case CmdActiveTest:
		if h.Len != 0 {
			err = Fail(StatusInval, fmt.Errorf("fdfs: active test with a %d-byte body", h.Len))
		} else {
			err = c.Reply(StatusOK)
		}
	default:
		err = s.h.ServeFDFS(s.ctx, c, h)
	}
	if c.broken != nil {
		return false // the peer went away or stalled: nothing can be said to it
	}
	if err != nil {
		if c.replied {
			s.log.Debug("request failed after its answer started", "cmd", h.Cmd, "err", err)
			return false
		}
		st := StatusOf(err)
		s.log.Debug("request refused", "cmd", h.Cmd, "status", st, "err", err)
		if c.remain > drainMax {
			c.Reply(st)
			return false
		}
		if _, derr := io.Copy(io.Discard, c.Body()); derr != nil {
			return false
		}
		if rerr := c.Reply(st); rerr != nil {
			return false
		}
		return c.broken == nil
	}
	if !c.replied {
		s.log.Error("handler returned without an answer", "cmd", h.Cmd)
		return false
	}
	return c.remain == 0 && c.broken == nil
}
