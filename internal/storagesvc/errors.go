package storagesvc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// Errors of the service itself; disk and fileid errors pass through toStatus too.
var (
	// ErrWrongGroup: the file ID names a group this node does not serve.
	ErrWrongGroup = errors.New("file id names another group")
	// ErrProtocol: a client stream broke the header-then-chunks rule.
	ErrProtocol = errors.New("malformed request stream")
	// ErrRange: a download range lies outside the file.
	ErrRange = errors.New("range outside the file")
	// ErrBadRequest: a request field is out of its domain (negative size, unknown kind).
	ErrBadRequest = errors.New("invalid request field")
)

// toStatus is the one place where errors become gRPC statuses. The message is err's text,
// which names the operation and the file ID. An error that already carries a gRPC status
// (a broken client stream) keeps its code.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(code(err), err.Error())
}

// code picks the gRPC code for err; the first matching case wins.
func code(err error) codes.Code {
	var se interface{ GRPCStatus() *status.Status }
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, disk.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, disk.ErrNoSpace):
		return codes.ResourceExhausted
	case errors.Is(err, disk.ErrReadOnly), errors.Is(err, disk.ErrNotAppender):
		return codes.FailedPrecondition
	case errors.Is(err, disk.ErrExists):
		return codes.AlreadyExists
	case errors.Is(err, disk.ErrTruncated), errors.Is(err, disk.ErrTooLarge),
		errors.Is(err, disk.ErrInvalid), errors.Is(err, fileid.ErrInvalid),
		errors.Is(err, ErrWrongGroup), errors.Is(err, ErrProtocol), errors.Is(err, ErrBadRequest):
		return codes.InvalidArgument
	case errors.Is(err, ErrRange):
		return codes.OutOfRange
	case errors.As(err, &se):
		return se.GRPCStatus().Code()
	}
	return codes.Internal
}
