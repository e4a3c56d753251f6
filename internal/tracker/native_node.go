package tracker

import (
	"context"
	"fmt"
	"net"

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
	nativeLn, grpcLn, mux, err := fdfsproto.Listeners(ln, tc.BindAddr, tc.NativePort, tc.NetworkTimeout, log)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	n.nativeLn, n.mux = nativeLn, mux
	go func() {
		if err := n.native.Serve(n.nativeLn); err != nil {
			log.Error("fdfs server stopped", "err", err)
		}
	}()
	return grpcLn, nil
}

// serveFDFS applies the allow_hosts in force, then serves the request.
func (n *Node) serveFDFS(ctx context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	if !n.allow.AllowsAddr(c.RemoteAddr()) {
		return fdfsproto.Fail(fdfsproto.StatusAccess, fmt.Errorf("tracker: client %s not in allow_hosts", c.RemoteAddr()))
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
