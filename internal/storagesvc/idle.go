package storagesvc

import (
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IdleRecv returns a stream interceptor that ends a call whose client sends nothing for d
// while the handler waits for its next message: a stalled upload, append or replica stream
// fails with DeadlineExceeded, and the handler drops its partial file as for any client that
// went away. stalled, when not nil, is called once for each call ended this way (logging).
// d <= 0 disables the check.
//
// A slow but steady sender is never cut: the clock restarts with every message.
func IdleRecv(d time.Duration, stalled func(method string)) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if d <= 0 || !info.IsClientStream {
			return h(srv, ss)
		}
		is := &idleStream{ServerStream: ss, d: d}
		err := h(srv, is)
		if is.timedOut() && stalled != nil {
			stalled(info.FullMethod)
		}
		return err
	}
}

// idleStream bounds the wait in each RecvMsg. The underlying RecvMsg runs in a goroutine of
// its own; once the handler gave up on it, the call's end (the handler returning) makes it
// return, and the stream refuses further reads so two never run at once.
type idleStream struct {
	grpc.ServerStream
	d time.Duration

	mu    sync.Mutex
	stuck error // set once a read timed out
}

func (s *idleStream) timedOut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stuck != nil
}

func (s *idleStream) RecvMsg(m any) error {
	s.mu.Lock()
	stuck := s.stuck
	s.mu.Unlock()
	if stuck != nil {
		return stuck
	}
	done := make(chan error, 1)
	go func() { done <- s.ServerStream.RecvMsg(m) }()
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		err := status.Errorf(codes.DeadlineExceeded, "no data from the client for %s (network_timeout)", s.d)
		s.mu.Lock()
		s.stuck = err
		s.mu.Unlock()
		return err
	}
}
