package storage

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/proto/trackerpb"
)

// leaveTimeout bounds the Leave call to one tracker.
const leaveTimeout = 2 * time.Second

// StopTimeout returns stop_timeout: how long Close lets requests in flight finish.
func (s *Server) StopTimeout() time.Duration { return time.Duration(s.stopTimeout.Load()) }

// Close is Shutdown with stop_timeout as its deadline.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.StopTimeout())
	defer cancel()
	return s.Shutdown(ctx)
}

// Shutdown stops the node in order: it stops heartbeats and tells each tracker that knows it
// that it is leaving (Leave: OFFLINE at once, so clients are sent elsewhere); it stops
// accepting connections on both ports and lets the requests in flight (downloads, uploads,
// replication pushed to it) finish until ctx is done, when it closes their connections; then
// it stops the replication senders (each saves its cursor) and closes the binlog, the
// accounting, the access log and the store. A drain cut short by ctx is logged, not
// returned: the error is what failed to close. Only the first call (of Shutdown or Close)
// does this; later ones wait for it and return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeMu.Do(func() {
		var adminErr error
		if s.admin != nil {
			adminErr = s.admin.Close() // NOT_SERVING first: balancers stop sending work
		}
		s.stopReporter(ctx)
		if deadline, ok := ctx.Deadline(); ok {
			s.log.Info("no longer accepting; waiting for the requests in flight", "within", time.Until(deadline).Round(time.Millisecond))
		}
		if cut := s.drain(ctx); cut {
			s.log.Warn("stopping: the deadline passed; connections of requests still in flight were closed")
		}
		s.stopReplication()
		s.wg.Wait()
		s.closeErr = errors.Join(adminErr, s.closeFiles())
	})
	return s.closeErr
}

// drain stops both servers from accepting and waits for their requests in flight until ctx
// is done, when it closes what is left. cut reports whether anything was.
func (s *Server) drain(ctx context.Context) (cut bool) {
	var wg sync.WaitGroup
	var httpCut, grpcCut, nativeCut bool
	if s.httpLn != nil {
		wg.Go(func() { httpCut = s.httpSrv.Shutdown(ctx) != nil })
	}
	if s.grpcLn != nil {
		wg.Go(func() { grpcCut = stopGRPC(ctx, s.grpcSrv) })
	}
	wg.Go(func() { nativeCut = s.stopNative(ctx) })
	wg.Wait()
	return httpCut || grpcCut || nativeCut
}

// stopGRPC stops g gracefully, or at once when ctx is done first; it reports the latter.
func stopGRPC(ctx context.Context, g *grpc.Server) bool {
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
		return false
	case <-ctx.Done():
		g.Stop()
		<-stopped
		return true
	}
}

// leave sends Leave to every tracker the node is joined to, all at once, each bounded by
// leaveTimeout. A cancelled ctx (a second signal) cuts them short, its deadline does not: even
// with stop_timeout 0 the trackers are told. A tracker that does not answer marks the node
// OFFLINE later, when its heartbeats stay away for check_active_interval.
func (r *reporter) leave(ctx context.Context) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if ctx.Err() == context.Canceled {
			cancel()
		}
	})
	defer stop()
	var wg sync.WaitGroup
	for i, cl := range r.clients {
		addr := r.trackers[i]
		r.mu.Lock()
		key := r.joined[addr]
		r.mu.Unlock()
		if key == "" {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(lctx, min(leaveTimeout, r.timeout))
			defer cancel()
			resp, err := cl.Leave(cctx, &trackerpb.LeaveRequest{Group: r.s.cfg.Storage.GroupName, StorageKey: key})
			if err != nil {
				r.s.log.Warn("telling the tracker that this storage leaves failed; it will see the heartbeats stop", "tracker", addr, "err", err)
				return
			}
			r.s.log.Info("left the tracker", "tracker", addr, "storage_key", key, "status", resp.GetStatus().String())
		})
	}
	wg.Wait()
}
