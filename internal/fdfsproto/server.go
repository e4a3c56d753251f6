package fdfsproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
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

// StatusOf is the status an error is answered with: an *Error's, ErrTooLarge's EINVAL, a
// timeout's ETIMEDOUT-free EIO otherwise.
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
	cons map[net.Conn]struct{}
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
	s := &Server{h: h, o: o, log: o.Logger, lns: map[net.Listener]struct{}{}, cons: map[net.Conn]struct{}{}}
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
	s.cons[c] = struct{}{}
	s.wg.Add(1)
	return true
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

// Shutdown stops accepting and waits until the connections end or ctx is done, then
// closes those left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.done = true
	for ln := range s.lns {
		ln.Close()
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
		c.setReadDeadline()
		h, err := ReadHeader(c)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Debug("connection closed", "remote", raw.RemoteAddr().String(), "err", err)
			}
			return
		}
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

// Conn is one client connection as a Handler sees it.
type Conn struct {
	raw     net.Conn
	pre     []byte
	timeout time.Duration
	remain  int64 // body bytes of the current request not read yet
	replied bool
	broken  error // a read or write on the connection failed
	body    bodyReader
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *Conn) setReadDeadline() { c.raw.SetReadDeadline(time.Now().Add(c.timeout)) }

// Read reads from the connection (the sniffed bytes first), each call bounded by
// network_timeout.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	c.setReadDeadline()
	n, err := c.raw.Read(p)
	if err != nil && c.broken == nil && !errors.Is(err, io.EOF) {
		c.broken = err
	}
	return n, err
}

// Remaining is how many body bytes are still unread.
func (c *Conn) Remaining() int64 { return c.remain }

// Body is the rest of the request body as a stream; it ends after the declared length.
// A peer that sends less within network_timeout makes it fail (io.ErrUnexpectedEOF or a
// timeout), never hang.
func (c *Conn) Body() io.Reader {
	c.body.c = c
	return &c.body
}

type bodyReader struct{ c *Conn }

func (b *bodyReader) Read(p []byte) (int, error) {
	c := b.c
	if c.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.Read(p)
	c.remain -= int64(n)
	if err == io.EOF {
		c.broken = io.ErrUnexpectedEOF
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// ReadBody reads the whole remaining body, which must be at most max bytes (ErrTooLarge,
// checked before anything is allocated).
func (c *Conn) ReadBody(max int) ([]byte, error) {
	if c.remain > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, c.remain, max)
	}
	return ReadSmall(c.Body(), c.remain, max)
}

// ReadFull reads exactly len(p) body bytes.
func (c *Conn) ReadFull(p []byte) error {
	if int64(len(p)) > c.remain {
		return Fail(StatusInval, fmt.Errorf("fdfs: body of %d bytes, expected at least %d more", c.remain, len(p)))
	}
	_, err := io.ReadFull(c.Body(), p)
	return err
}

// Reply answers with status and the concatenated body parts.
func (c *Conn) Reply(status byte, body ...[]byte) error {
	var n int64
	for _, b := range body {
		n += int64(len(b))
	}
	bufs := make(net.Buffers, 0, len(body)+1)
	bufs = append(bufs, Header{Len: n, Cmd: CmdResp, Status: status}.Bytes())
	for _, b := range body {
		if len(b) > 0 {
			bufs = append(bufs, b)
		}
	}
	c.replied = true
	c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := bufs.WriteTo(c.raw)
	return c.wrote(err)
}

// ReplyHeader starts a successful answer whose n body bytes the handler writes next.
func (c *Conn) ReplyHeader(n int64) error {
	c.replied = true
	c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.raw.Write(Header{Len: n, Cmd: CmdResp}.Bytes())
	return c.wrote(err)
}

func (c *Conn) wrote(err error) error {
	if err != nil && c.broken == nil {
		c.broken = err
	}
	return err
}

// sendChunk is how much one sendfile call may move before the write deadline is renewed.
const sendChunk = 4 << 20

// SendFile writes n bytes of f from off to the connection (sendfile(2) on TCP), each
// 4 MiB bounded by network_timeout. f's position is moved: f must be the caller's own.
func (c *Conn) SendFile(f *os.File, off, n int64) error {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return c.wrote(err)
	}
	for n > 0 {
		k := min(n, sendChunk)
		c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
		m, err := io.CopyN(c.raw, f, k)
		n -= m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return c.wrote(err)
		}
	}
	return nil
}
