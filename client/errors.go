package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors returned by Client methods wrap one of these (test with errors.Is). Canceled and
// timed-out calls wrap context.Canceled and context.DeadlineExceeded; a call canceled by its
// connection closing (Close, or a storage going away), not by its context, wraps
// ErrUnavailable.
var (
	ErrNotFound    = errors.New("file not found")
	ErrInvalid     = errors.New("invalid argument")             // bad file ID, size mismatch, wrong group, bad option
	ErrExists      = errors.New("file already exists")          // e.g. a slave that was already uploaded
	ErrNoSpace     = errors.New("no space left on the storage") // reserved_storage_space reached
	ErrNotAllowed  = errors.New("operation not allowed")        // read-only store path, not an appender file
	ErrOutOfRange  = errors.New("range outside the file")
	ErrUnavailable = errors.New("storage unavailable")
	ErrServer      = errors.New("storage server error")
	// ErrTrackerMode is no longer returned: New accepts Config.Trackers (tracker mode).
	ErrTrackerMode = errors.New("tracker mode is not available in this version: set Config.Storage")
)

// rpcError is an error returned by the storage node: its message (which names the file ID)
// and the sentinel its gRPC code maps to.
type rpcError struct {
	op   string
	code codes.Code
	msg  string
	kind error
}

func (e *rpcError) Error() string { return "depot client: " + e.op + ": " + e.msg }
func (e *rpcError) Unwrap() error { return e.kind }

// GRPCStatus lets grpc's status.FromError see the original code.
func (e *rpcError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// fromStatus translates an error from a gRPC call made with ctx into an error wrapping a
// sentinel. Canceled wraps context.Canceled only when ctx is done: a call the caller did not
// cancel was canceled by its connection closing (or by the storage), which is
// ErrUnavailable, so that tracker mode retries it.
func fromStatus(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("depot client: %s: %w", op, err)
		}
		return fmt.Errorf("depot client: %s: %w: %w", op, ErrServer, err)
	}
	kind := sentinel(st.Code())
	if st.Code() == codes.Canceled && ctx.Err() == nil {
		kind = ErrUnavailable
	}
	return &rpcError{op: op, code: st.Code(), msg: st.Message(), kind: kind}
}

func sentinel(c codes.Code) error {
	switch c {
	case codes.NotFound:
		return ErrNotFound
	case codes.InvalidArgument:
		return ErrInvalid
	case codes.AlreadyExists:
		return ErrExists
	case codes.ResourceExhausted:
		return ErrNoSpace
	case codes.FailedPrecondition:
		return ErrNotAllowed
	case codes.OutOfRange:
		return ErrOutOfRange
	case codes.Unavailable:
		return ErrUnavailable
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return ErrServer
}
