package storage

import (
	"context"
	"fmt"
	"net"

	"github.com/depotfs/depot/internal/fdfsproto"
)

// FastDFS's binary protocol (fdfsproto) is served by the same storagesvc.Service as gRPC.
// With native_port = 0 it shares port with gRPC: a Mux reads each connection's first bytes
// and hands HTTP/2 to the gRPC server and FastDFS frames to the native one. With a
// native_port of its own it has its own listener.

// listenNative wraps the gRPC port's listener ln and starts the native server; it returns
// the listener gRPC serves.
func (s *Server) listenNative(ln net.Listener) (net.Listener, error) {
	sc := s.cfg.Storage
	s.native = fdfsproto.NewServer(fdfsproto.HandlerFunc(s.serveFDFS), fdfsproto.Options{
		MaxConnections: sc.MaxConnections,
		NetworkTimeout: sc.NetworkTimeout,
		Logger:         s.log.With("component", "fdfs"),
	})
	nativeLn, grpcLn, mux, err := fdfsproto.Listeners(ln, sc.BindAddr, sc.NativePort, sc.NetworkTimeout, s.log)
	if err != nil {
		return nil, err
	}
	s.nativeLn, s.mux = nativeLn, mux
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.native.Serve(s.nativeLn); err != nil {
			s.log.Error("fdfs server stopped", "err", err)
		}
	}()
	return grpcLn, nil
}

// serveFDFS applies the allow_hosts in force (as on the gRPC port), then serves the request.
func (s *Server) serveFDFS(ctx context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	if !s.allow.AllowsAddr(c.RemoteAddr()) {
		return fdfsproto.Fail(fdfsproto.StatusAccess, fmt.Errorf("storage: client %s not in allow_hosts", c.RemoteAddr()))
	}
	return s.svc.ServeFDFS(ctx, c, h)
}

// NativeAddr is the address of FastDFS's protocol (after Start): the gRPC port's unless
// native_port is set.
func (s *Server) NativeAddr() string { return s.nativeLn.Addr().String() }

// stopNative closes the shared listener (no new connection of either protocol; those
// handed on stay with their servers), stops the native server from accepting and waits for
// its requests until ctx is done. It reports whether connections were cut.
func (s *Server) stopNative(ctx context.Context) bool {
	if s.native == nil {
		return false
	}
	if s.mux != nil {
		s.mux.Close()
	}
	return s.native.Shutdown(ctx) != nil || ctx.Err() != nil
}

// closeGRPCAndNative undoes listenNative when Start fails after it.
func (s *Server) closeGRPCAndNative() {
	s.grpcLn.Close()
	s.native.Close()
	if s.mux != nil {
		s.mux.Close()
	} else {
		s.nativeLn.Close()
	}
}

// nativePort is the port the trackers hand to FastDFS clients when it is not the gRPC
// port: native_port's (the bound one), else 0.
func (s *Server) nativePort() int {
	if s.mux != nil || s.nativeLn == nil {
		return 0
	}
	return s.nativeLn.Addr().(*net.TCPAddr).Port
}
