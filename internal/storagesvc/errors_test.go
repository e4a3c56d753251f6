package storagesvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

func TestToStatus(t *testing.T) {
	const id = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	tests := []struct {
		err  error
		want codes.Code
	}{
		{disk.ErrNotFound, codes.NotFound},
		{disk.ErrNoSpace, codes.ResourceExhausted},
		{disk.ErrReadOnly, codes.FailedPrecondition},
		{disk.ErrNotAppender, codes.FailedPrecondition},
		{disk.ErrExists, codes.AlreadyExists},
		{disk.ErrTruncated, codes.InvalidArgument},
		{disk.ErrTooLarge, codes.InvalidArgument},
		{disk.ErrInvalid, codes.InvalidArgument},
		{fileid.ErrInvalid, codes.InvalidArgument},
		{ErrWrongGroup, codes.InvalidArgument},
		{ErrProtocol, codes.InvalidArgument},
		{ErrBadRequest, codes.InvalidArgument},
		{ErrRange, codes.OutOfRange},
		{context.Canceled, codes.Canceled},
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{status.Error(codes.Canceled, "client went away"), codes.Canceled},
		{io.ErrUnexpectedEOF, codes.Internal},
		{errors.New("disk on fire"), codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := toStatus(fmt.Errorf("download %s: %w", id, tt.err))
			st, ok := status.FromError(err)
			if !ok {
				t.Fatalf("toStatus gave %T, not a status", err)
			}
			if st.Code() != tt.want {
				t.Errorf("code %v; want %v", st.Code(), tt.want)
			}
			if !strings.Contains(st.Message(), id) {
				t.Errorf("message %q does not name the file id", st.Message())
			}
		})
	}
	if toStatus(nil) != nil {
		t.Error("toStatus(nil) != nil")
	}
}

func TestChunkReader(t *testing.T) {
	chunks := [][]byte{[]byte("ab"), nil, []byte("cde"), []byte("f")}
	i := 0
	r := &chunkReader{next: func() ([]byte, error) {
		if i == len(chunks) {
			return nil, io.EOF
		}
		i++
		return chunks[i-1], nil
	}}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "abcdef" {
		t.Fatalf("ReadAll = %q, %v; want abcdef, nil", got, err)
	}
	if err := r.expectEOF(); err != nil {
		t.Errorf("expectEOF at the end = %v", err)
	}
	boom := errors.New("stream broken")
	r = &chunkReader{next: func() ([]byte, error) { return []byte("x"), boom }}
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Errorf("ReadAll over a broken stream = %v; want %v", err, boom)
	}
	r = &chunkReader{next: func() ([]byte, error) { return []byte("extra"), nil }}
	if err := r.expectEOF(); !errors.Is(err, disk.ErrTooLarge) {
		t.Errorf("expectEOF with data left = %v; want ErrTooLarge", err)
	}
}
