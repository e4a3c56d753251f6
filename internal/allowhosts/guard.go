package allowhosts

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Guard applies the allow_hosts in force to connections and gRPC calls; Set swaps the list
// for what starts from then on (SIGHUP). The zero Guard allows everyone.
type Guard struct {
	node string // "tracker" or "storage", for the refusal's message
	list atomic.Pointer[List]
}

// NewGuard returns a Guard for the kind of node named in its refusals, with list in force.
func NewGuard(node string, list *List) *Guard {
	g := &Guard{node: node}
	g.list.Store(list)
	return g
}

// Set puts list in force.
func (g *Guard) Set(list *List) { g.list.Store(list) }

// AllowsAddr reports whether the peer at addr (a *net.TCPAddr or "ip:port" address) may use
// the node; an address that is not an IP address is refused unless everyone is allowed.
func (g *Guard) AllowsAddr(addr net.Addr) bool {
	l := g.list.Load()
	if l == nil || l.all {
		return true
	}
	ip, ok := addrIP(addr)
	return ok && l.Allows(ip)
}

// Admit returns PERMISSION_DENIED when the client of the gRPC call in ctx is not allowed.
func (g *Guard) Admit(ctx context.Context) error {
	p, _ := peer.FromContext(ctx)
	var addr net.Addr
	if p != nil {
		addr = p.Addr
	}
	if g.AllowsAddr(addr) {
		return nil
	}
	host := "unknown"
	if ip, ok := addrIP(addr); ok {
		host = ip.String()
	}
	return status.Errorf(codes.PermissionDenied, "%s: client %s not in allow_hosts", g.node, host)
}

// UnaryInterceptor refuses unary calls from clients not allowed.
func (g *Guard) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := g.Admit(ctx); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamInterceptor refuses streams from clients not allowed.
func (g *Guard) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if err := g.Admit(ss.Context()); err != nil {
			return err
		}
		return next(srv, ss)
	}
}

func addrIP(addr net.Addr) (netip.Addr, bool) {
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}
