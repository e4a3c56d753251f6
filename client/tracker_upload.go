package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/depotfs/depot/proto/storagepb"
	"github.com/depotfs/depot/proto/trackerpb"
)

// An upload in tracker mode never stores a file twice:
//
//   - Every logical upload carries a random 16-byte upload token. A storage remembers the
//     tokens of its recent uploads and answers a repeated token with the first file's ID.
//   - A failed attempt whose end of stream was never sent cannot have been stored (a storage
//     keeps a file only after the client's end of stream): it is retried on any storage
//     the trackers name.
//   - A failed attempt whose end of stream was sent has an unknown outcome: it is retried
//     only on the same storage, with the same token, until the retry timeout.
//   - A storage that answers "no space" (ErrNoSpace: its store path reached
//     reserved_storage_space or the disk filled during the write) kept nothing: the upload is
//     retried wherever the trackers name, until the retry timeout. A tracker's "no space"
//     (every group full) is final.
//
// A retry sends the data again, so it needs r to be an io.Seeker, or nothing read from it yet.

// readError is a failure of the caller's reader: never retried.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// replay counts what was read from r and rewinds it when r is an io.Seeker.
type replay struct {
	r      io.Reader
	seeker io.Seeker
	start  int64
	n      int64
}

func newReplay(r io.Reader) *replay {
	p := &replay{r: r}
	if s, ok := r.(io.Seeker); ok {
		if off, err := s.Seek(0, io.SeekCurrent); err == nil {
			p.seeker, p.start = s, off
		}
	}
	return p
}

func (p *replay) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}

// rewind prepares a new attempt; false when the data already read cannot be read again.
func (p *replay) rewind() bool {
	if p.n == 0 {
		return true
	}
	if p.seeker == nil {
		return false
	}
	if _, err := p.seeker.Seek(p.start, io.SeekStart); err != nil {
		return false
	}
	p.n = 0
	return true
}

func newUploadToken() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// upload asks the trackers for a storage (QueryStore, or QueryUpdate of the master for a
// slave) and uploads there, retrying as described above.
func (t *trackerMode) upload(ctx context.Context, op string, r io.Reader, h *storagepb.UploadHeader, group string) (string, error) {
	h.UploadToken = newUploadToken()
	choosePath := h.GetStorePathIndex() < 0
	data := newReplay(r)
	rt := t.newRetry()
	var pinned *trackerpb.StorageBrief // the storage of an attempt with an unknown outcome
	for {
		full := false // this attempt's storage answered that it has no space
		target, err := t.uploadTarget(ctx, op, h, group, choosePath, pinned)
		if err == nil {
			if !data.rewind() {
				return "", fmt.Errorf("depot client: %s: %w: the data was partly sent and cannot be read again (pass an io.Seeker to allow retries)", op, ErrUnavailable)
			}
			var p *pooled
			if p, err = t.storage(target); err == nil {
				var id string
				var endSent bool
				id, endSent, err = p.uploadAttempt(ctx, op, data, h)
				if err == nil {
					t.release(p)
					return id, nil
				}
				switch {
				case transient(err):
					t.dropStorage(p)
					if endSent {
						pinned = target
					}
				case errors.Is(err, ErrNoSpace):
					// The storage refused the file (its store path is full): nothing was
					// stored, whatever was sent. The tracker learns of it by the next
					// heartbeat and names another storage, or another group.
					full, pinned = true, nil
				}
				t.release(p)
			}
			if pinned != nil {
				t.log.Warn("upload outcome unknown: retrying on the same storage with the same token",
					"storage", net.JoinHostPort(pinned.GetAddr(), strconv.Itoa(int(pinned.GetPort()))), "err", err)
			}
		}
		var re *readError
		retry := transient(err) || full && errors.Is(err, ErrNoSpace)
		if errors.As(err, &re) || !retry || !rt.again(ctx) {
			if pinned != nil && transient(err) {
				return "", fmt.Errorf("depot client: %s: outcome unknown (the storage %s:%d may have stored the file): %w",
					op, pinned.GetAddr(), pinned.GetPort(), err)
			}
			return "", err
		}
	}
}

// uploadTarget is the storage for the next attempt: the pinned one, else the tracker's choice.
func (t *trackerMode) uploadTarget(ctx context.Context, op string, h *storagepb.UploadHeader, group string, choosePath bool, pinned *trackerpb.StorageBrief) (*trackerpb.StorageBrief, error) {
	if pinned != nil {
		return pinned, nil
	}
	if h.GetKind() == storagepb.FileKind_FILE_KIND_SLAVE {
		return t.queryUpdate(ctx, op, h.GetMasterFileId())
	}
	var resp *trackerpb.QueryStoreResponse
	err := t.call(ctx, op, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		var err error
		resp, err = rpc.QueryStore(ctx, &trackerpb.QueryStoreRequest{Group: group})
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp.GetStorage() == nil {
		return nil, fmt.Errorf("depot client: %s: %w: the tracker named no storage", op, ErrServer)
	}
	if choosePath {
		h.StorePathIndex = resp.GetStorePathIndex()
	}
	return resp.GetStorage(), nil
}

// uploadAttempt is one Upload call. endSent reports whether the end of the stream was sent:
// when it was not, the storage cannot have kept the file.
func (c *Client) uploadAttempt(ctx context.Context, op string, r io.Reader, h *storagepb.UploadHeader) (id string, endSent bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Upload(ctx)
	if err != nil {
		return "", false, fromStatus(ctx, op, err)
	}
	sendErr := stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: h}})
	var readErr error
	if sendErr == nil {
		readErr, sendErr = c.pump(r, func(b []byte) error {
			return stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: b}})
		})
	}
	switch {
	case readErr != nil:
		cancel()
		return "", false, &readError{fmt.Errorf("depot client: %s: reading data: %w", op, readErr)}
	case sendErr != nil && !errors.Is(sendErr, io.EOF):
		return "", false, fromStatus(ctx, op, sendErr)
	case sendErr != nil:
		// The call ended before the end of the stream was sent: the storage answered early
		// (an error, or the file ID of a known token) or the connection broke.
		resp := new(storagepb.UploadResponse)
		if err := stream.RecvMsg(resp); err != nil {
			return "", false, fromStatus(ctx, op, err)
		}
		return resp.GetFileId(), false, nil
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return "", true, fromStatus(ctx, op, err)
	}
	return resp.GetFileId(), true, nil
}
