package consensus

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// errCut is returned for traffic to or from a peer that Config.Reachable cuts off.
var errCut = errors.New("consensus: peer unreachable (partitioned)")

// streamLayer is raft's StreamLayer over TCP. Outgoing connections are
// made from the bind address, so a peer's source IP identifies it; with a
// Reachable hook, connections to and from cut hosts are refused and
// pooled connections fail on their next read or write.
type streamLayer struct {
	net.Listener
	bindIP    net.IP
	reachable func(host string) bool
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(bind string, port int, reachable func(string) bool) (*streamLayer, error) {
	addr := net.JoinHostPort(bind, fmt.Sprint(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("consensus: raft listen on %s: %w", addr, err)
	}
	return &streamLayer{Listener: ln, bindIP: net.ParseIP(bind), reachable: reachable}, nil
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

func (s *streamLayer) ok(addr string) bool {
	return s.reachable == nil || s.reachable(hostOf(addr))
}

// Dial connects to a peer's raft address from the bind address.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	addr := string(address)
	if !s.ok(addr) {
		return nil, fmt.Errorf("dial %s: %w", addr, errCut)
	}
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: s.bindIP}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return s.wrap(c, addr), nil
}

// Accept returns the next connection from a reachable peer.
func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer := c.RemoteAddr().String()
		if !s.ok(peer) {
			_ = c.Close()
			continue
		}
		return s.wrap(c, peer), nil
	}
}

func (s *streamLayer) wrap(c net.Conn, peer string) net.Conn {
	if s.reachable == nil {
		return c
	}
	return &cutConn{Conn: c, ok: func() bool { return s.ok(peer) }}
}

// cutConn fails reads and writes once its peer is cut off, and closes
// itself so that a blocked reader on the other side sees the break.
type cutConn struct {
	net.Conn
	ok func() bool
}

func (c *cutConn) Read(p []byte) (int, error) {
	if !c.ok() {
		_ = c.Conn.Close()
		return 0, errCut
	}
	return c.Conn.Read(p)
}

func (c *cutConn) Write(p []byte) (int, error) {
	if !c.ok() {
		_ = c.Conn.Close()
		return 0, errCut
	}
	return c.Conn.Write(p)
}
