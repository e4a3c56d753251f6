package membership

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// errCut is returned for streams to hosts that Config.Reachable cuts off.
var errCut = errors.New("membership: peer unreachable (partitioned)")

// cutTransport wraps memberlist's NetTransport and drops traffic to and
// from hosts for which reachable returns false. Packets are filtered on
// both ends (UDP packets carry the sender's bound address); streams are
// refused when dialling and checked again on every read and write, since an
// accepted stream's source address is not the peer's bind address.
type cutTransport struct {
	*memberlist.NetTransport
	reachable func(host string) bool
	packets   chan *memberlist.Packet
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ memberlist.NodeAwareTransport = (*cutTransport)(nil)

func newCutTransport(inner *memberlist.NetTransport, reachable func(string) bool) *cutTransport {
	t := &cutTransport{
		NetTransport: inner,
		reachable:    reachable,
		packets:      make(chan *memberlist.Packet),
		done:         make(chan struct{}),
	}
	t.wg.Add(1)
	go t.forwardPackets()
	return t
}

func (t *cutTransport) ok(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return t.reachable(host)
}

func (t *cutTransport) forwardPackets() {
	defer t.wg.Done()
	in := t.NetTransport.PacketCh()
	for {
		select {
		case p := <-in:
			if p == nil || !t.ok(p.From.String()) {
				continue
			}
			select {
			case t.packets <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

// PacketCh returns the filtered packet channel.
func (t *cutTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// WriteTo silently drops packets to cut hosts, as a lossy network would.
func (t *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if !t.ok(addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

// WriteToAddress drops packets to cut hosts.
func (t *cutTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return t.WriteTo(b, a.Addr)
}

// DialTimeout refuses streams to cut hosts.
func (t *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if !t.ok(addr) {
		return nil, fmt.Errorf("dial %s: %w", addr, errCut)
	}
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: c, ok: func() bool { return t.ok(addr) }}, nil
}

// DialAddressTimeout refuses streams to cut hosts.
func (t *cutTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(a.Addr, timeout)
}

// Shutdown stops the forwarder and the inner transport.
func (t *cutTransport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	t.closeOnce.Do(func() { close(t.done) })
	t.wg.Wait()
	return err
}

// cutConn fails reads and writes once its peer is cut off.
type cutConn struct {
	net.Conn
	ok func() bool
}

func (c *cutConn) Read(p []byte) (int, error) {
	if !c.ok() {
		return 0, errCut
	}
	return c.Conn.Read(p)
}

func (c *cutConn) Write(p []byte) (int, error) {
	if !c.ok() {
		return 0, errCut
	}
	return c.Conn.Write(p)
}
