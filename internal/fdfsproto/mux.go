package fdfsproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// h2Preface is the start of the HTTP/2 client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
// that every gRPC connection opens with: its first HeaderSize bytes.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")[:HeaderSize]

// Mux shares one listener between gRPC and FastDFS: it reads the first HeaderSize bytes of
// each accepted connection (within a timeout, off the accept loop, so a silent peer delays
// no one), hands connections that open with the HTTP/2 preface to GRPC() and those that
// open with a plausible FastDFS header to Native(), and closes the others. A gRPC client
// sends the preface with its first write, so the sniff adds no round trip.
type Mux struct {
	ln      net.Listener
	timeout time.Duration
	log     *slog.Logger
	grpc    *subListener
	native  *subListener

	mu      sync.Mutex
	pending map[net.Conn]struct{} // connections being sniffed
	closed  bool
	wg      sync.WaitGroup
	done    chan struct{}
}

// Listeners splits a node's gRPC listener ln for FastDFS's protocol: with port 0 both share
// ln through a Mux (returned, for the node to close), otherwise the protocol gets a listener
// of its own on bindAddr:port and ln stays gRPC's. It returns the native and the gRPC listener.
func Listeners(ln net.Listener, bindAddr string, port int, timeout time.Duration, log *slog.Logger) (native, grpc net.Listener, mux *Mux, err error) {
	if port == 0 {
		mux = NewMux(ln, timeout, log.With("component", "mux"))
		return mux.Native(), mux.GRPC(), mux, nil
	}
	native, err = net.Listen("tcp", net.JoinHostPort(bindAddr, strconv.Itoa(port)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("fdfs listener (native_port %d): %w", port, err)
	}
	return native, ln, nil, nil
}

// NewMux starts sorting ln's connections. timeout bounds the wait for the first bytes
// (network_timeout); a peer silent that long is closed. log may be nil.
func NewMux(ln net.Listener, timeout time.Duration, log *slog.Logger) *Mux {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mux{ln: ln, timeout: timeout, log: log, pending: map[net.Conn]struct{}{}, done: make(chan struct{})}
	m.grpc = newSubListener(m)
	m.native = newSubListener(m)
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

// GRPC is the listener of the connections that speak HTTP/2.
func (m *Mux) GRPC() net.Listener { return m.grpc }

// Native is the listener of the connections that speak FastDFS. Its connections carry the
// bytes already read; Serve knows how to take them back.
func (m *Mux) Native() net.Listener { return m.native }

// Addr is the shared listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close closes the listener, the connections still being sniffed and both sub-listeners
// (connections already handed on belong to their servers), and waits for its goroutines.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	for c := range m.pending {
		c.Close()
	}
	m.mu.Unlock()
	err := m.ln.Close()
	m.wg.Wait()
	return err
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			m.grpc.fail(err)
			m.native.fail(err)
			return
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			c.Close()
			continue
		}
		m.pending[c] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.sniff(c)
	}
}

func (m *Mux) sniff(c net.Conn) {
	defer m.wg.Done()
	pre := make([]byte, HeaderSize)
	if m.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(m.timeout))
	}
	_, err := io.ReadFull(c, pre)
	c.SetReadDeadline(time.Time{})
	m.mu.Lock()
	delete(m.pending, c)
	closed := m.closed
	m.mu.Unlock()
	if err != nil || closed {
		if err != nil {
			m.log.Debug("connection closed before its first bytes", "remote", c.RemoteAddr().String(), "err", err)
		}
		c.Close()
		return
	}
	var to *subListener
	switch {
	case bytes.Equal(pre, h2Preface), isTLSHello(pre):
		to = m.grpc
	default:
		if _, err := ParseHeader(pre); err != nil {
			m.log.Debug("connection speaks neither gRPC nor FastDFS", "remote", c.RemoteAddr().String(), "first_bytes", pre)
			c.Close()
			return
		}
		to = m.native
	}
	to.hand(&PrefixConn{Conn: c, pre: pre})
}

// isTLSHello tells a TLS handshake record (gRPC over TLS: tls_cert_file) from a FastDFS
// header, whose first byte would make pkg_len at least 2^58.
func isTLSHello(b []byte) bool { return len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04 }

// PrefixConn is a connection whose first bytes were read by Mux; Read returns them first.
type PrefixConn struct {
	net.Conn
	pre []byte
}

func (c *PrefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// SyscallConn passes the raw connection's through (gRPC sets TCP options with it).
func (c *PrefixConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("fdfs: connection has no syscall.Conn")
}

// unwrap returns the raw connection and the bytes not yet read from it.
func unwrap(c net.Conn) (net.Conn, []byte) {
	if pc, ok := c.(*PrefixConn); ok {
		return pc.Conn, pc.pre
	}
	return c, nil
}

// subListener is one side of a Mux. Its connections come through a channel that holds none:
// a connection waits in hand until the server accepts it or the listener closes.
type subListener struct {
	m      *Mux
	ch     chan net.Conn
	once   sync.Once
	closed chan struct{}
	errMu  sync.Mutex
	err    error
}

func newSubListener(m *Mux) *subListener {
	return &subListener{m: m, ch: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *subListener) hand(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.closed:
		c.Close()
	case <-l.m.done:
		c.Close()
	}
}

func (l *subListener) fail(err error) {
	l.errMu.Lock()
	l.err = err
	l.errMu.Unlock()
	l.Close()
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
	case <-l.m.done:
	}
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if l.err != nil && !errors.Is(l.err, net.ErrClosed) {
		return nil, l.err
	}
	return nil, net.ErrClosed
}

// Close stops this side; the Mux keeps serving the other side until Mux.Close.
func (l *subListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *subListener) Addr() net.Addr { return l.m.ln.Addr() }
