package storage

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/replicapb"
)

// replicaPrefix starts the full method name of every ReplicaService call.
var replicaPrefix = "/" + replicapb.ReplicaService_ServiceDesc.ServiceName + "/"

// replicaCaller checks that a ReplicaService call comes from a storage that the trackers list
// for this node's group: the caller's address must be a listed member's address. Anyone else
// (a client, a storage of another group, a standalone node's peers: there are none) gets
// PermissionDenied, so no outsider can delete or overwrite a file on one storage only.
func (s *Server) replicaCaller(ctx context.Context, method string) error {
	if !strings.HasPrefix(method, replicaPrefix) {
		return nil
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return status.Error(codes.PermissionDenied, "replication: caller address unknown")
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return status.Errorf(codes.PermissionDenied, "replication: caller address %q: %v", p.Addr, err)
	}
	caller := ap.Addr().Unmap()
	for _, m := range s.Members() {
		host := m.GetAddr()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Unmap() == caller {
			return nil
		}
	}
	s.log.Warn("replication call refused: caller is not a storage of the group", "caller", p.Addr.String(), "method", method, "group", s.cfg.Storage.GroupName)
	return status.Errorf(codes.PermissionDenied, "replication: %s is not a storage of group %s", caller, s.cfg.Storage.GroupName)
}

// replicaInterceptors applies replicaCaller to unary and streaming calls.
func (s *Server) replicaInterceptors() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := s.replicaCaller(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := s.replicaCaller(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}
