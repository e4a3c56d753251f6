package tracker

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/depotfs/depot/internal/fdfsproto"
)

// listenNative starts FastDFS's protocol for the node: on the gRPC listener ln through a
// Mux (native_port = 0) or on native_port. It returns the listener gRPC serves.
func (n *Node) listenNative(ln net.Listener, cfg NodeConfig) (net.Listener, error) {
	tc := cfg.Tracker
	log := cfg.Logger
	n.native = fdfsproto.NewServer(fdfsproto.HandlerFunc(n.serveFDFS), fdfsproto.Options{
		MaxConnections: tc.MaxConnections, NetworkTimeout: tc.NetworkTimeout, Logger: log.With("component", "fdfs"),
	})
	grpcLn := ln
	if tc.NativePort == 0 {
		n.mux = fdfsproto.NewMux(ln, tc.NetworkTimeout, log.With("component", "mux"))
		n.nativeLn, grpcLn = n.mux.Native(), n.mux.GRPC()
	} else {
		nl, err := net.Listen("tcp", net.JoinHostPort(tc.BindAddr, strconv.Itoa(tc.NativePort)))
		if err != nil {
			return nil, fmt.Errorf("tracker fdfs listener (native_port %d): %w", tc.NativePort, err)
		}
		n.nativeLn = nl
	}
	go func() {
		if err := n.native.Serve(n.nativeLn); err != nil {
			log.Error("fdfs server stopped", "err", err)
		}
	}()
	return grpcLn, nil
}

// serveFDFS applies the allow_hosts in force, then serves the request.
func (n *Node) serveFDFS(ctx context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	var ip netip.Addr
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ip = a.AddrPort().Addr()
	}
	if !n.allow.Load().Allows(ip) {
		return fdfsproto.Fail(fdfsproto.StatusAccess, fmt.Errorf("tracker: client %s not in allow_hosts", ip))
	}
	return n.srv.ServeFDFS(ctx, c, h)
}

// NativeAddr is the address FastDFS's protocol is served on.
func (n *Node) NativeAddr() string { return n.nativeLn.Addr().String() }

// closeNative stops the native server and the Mux.
func (n *Node) closeNative() {
	n.native.Close()
	if n.mux != nil {
		n.mux.Close()
	} else {
		n.nativeLn.Close()
	}
}
