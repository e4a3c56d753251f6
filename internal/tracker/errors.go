package tracker

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/consensus"
)

// Errors of the package; handlers wrap them with the input that failed.
var (
	ErrInvalid        = errors.New("tracker: invalid request")
	ErrUnknownGroup   = errors.New("tracker: unknown group")
	ErrUnknownStorage = errors.New("tracker: unknown storage")
	ErrNotAllowed     = errors.New("tracker: storage not in storage_ids.conf")
	ErrNoStorage      = errors.New("tracker: no storage available")
	ErrNoSpace        = errors.New("tracker: no space left")
	ErrBusy           = errors.New("tracker: storage is alive")
	ErrNotLeader      = errors.New("tracker: not the leader")
	ErrPersist        = errors.New("tracker: saving state")
)

// toStatus maps an error of this package to a gRPC status; it is the only place that does.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, ErrUnknownGroup), errors.Is(err, ErrUnknownStorage), errors.Is(err, ErrNoStorage):
		code = codes.NotFound
	case errors.Is(err, ErrNotAllowed):
		code = codes.PermissionDenied
	case errors.Is(err, ErrNoSpace):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrBusy), errors.Is(err, ErrNotLeader), errors.Is(err, consensus.ErrNotLeader):
		code = codes.FailedPrecondition
	case errors.Is(err, consensus.ErrClosed):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
