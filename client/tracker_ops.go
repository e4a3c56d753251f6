package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

// DefaultRetryTimeout bounds how long a call in tracker mode keeps retrying when
// Config.RetryTimeout is 0.
const DefaultRetryTimeout = 15 * time.Second

// retry paces the attempts of one call: waits that double from 50 ms to 1 s, until the
// retry timeout has passed.
type retry struct {
	deadline time.Time
	wait     time.Duration
}

func (t *trackerMode) newRetry() *retry {
	d := t.cfg.RetryTimeout
	if d <= 0 {
		d = DefaultRetryTimeout
	}
	return &retry{deadline: time.Now().Add(d), wait: 50 * time.Millisecond}
}

// again waits before the next attempt; false when the time is up or ctx is done.
func (r *retry) again(ctx context.Context) bool {
	if time.Now().Add(r.wait).After(r.deadline) {
		return false
	}
	if !sleepCtx(ctx, r.wait) {
		return false
	}
	r.wait = min(2*r.wait, time.Second)
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// transient reports whether a storage call's error may pass on a retry: the storage or
// the network failed rather than the storage refusing the request.
func transient(err error) bool {
	if errors.Is(err, ErrNoTracker) || errors.Is(err, ErrUnavailable) {
		return true
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unknown, codes.Internal, codes.Aborted:
			return true
		}
	}
	return false
}

func (t *trackerMode) queryUpdate(ctx context.Context, op, fileID string) (*trackerpb.StorageBrief, error) {
	var b *trackerpb.StorageBrief
	err := t.call(ctx, op, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		resp, err := rpc.QueryUpdate(ctx, &trackerpb.QueryFileRequest{FileId: fileID})
		b = resp.GetStorage()
		return err
	})
	if err == nil && b == nil {
		err = fmt.Errorf("depot client: %s %s: %w: the tracker named no storage", op, fileID, ErrServer)
	}
	return b, err
}

func (t *trackerMode) queryFetch(ctx context.Context, op, fileID string) ([]*trackerpb.StorageBrief, error) {
	var out []*trackerpb.StorageBrief
	err := t.call(ctx, op, func(ctx context.Context, rpc trackerpb.TrackerServiceClient) error {
		resp, err := rpc.QueryFetch(ctx, &trackerpb.QueryFileRequest{FileId: fileID, All: true})
		out = resp.GetStorages()
		return err
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("depot client: %s %s: %w: no storage can serve it", op, fileID, ErrNotFound)
	}
	return out, err
}

// onUpdate runs fn on the storage the trackers name for changing fileID. fn runs again
// (on a newly asked storage) only when the storage could not be connected to, so nothing
// reached it.
func (t *trackerMode) onUpdate(ctx context.Context, op, fileID string, fn func(*Client) error) error {
	rt := t.newRetry()
	for {
		b, err := t.queryUpdate(ctx, op, fileID)
		if err == nil {
			var p *pooled
			if p, err = t.storage(b); err == nil {
				defer t.release(p)
				return fn(p.Client)
			}
		}
		if !transient(err) || !rt.again(ctx) {
			return err
		}
	}
}

// onFetch runs fn on the storages the trackers name for reading fileID, one after the
// other, until one succeeds. A storage that is down, or that does not have the file yet,
// passes the call on to the next.
func (t *trackerMode) onFetch(ctx context.Context, op, fileID string, fn func(*Client) error) error {
	rt := t.newRetry()
	for {
		list, err := t.queryFetch(ctx, op, fileID)
		if err == nil {
			for _, b := range list {
				p, cerr := t.storage(b)
				if cerr == nil {
					cerr = fn(p.Client)
					if cerr != nil && transient(cerr) {
						t.dropStorage(p)
					}
					t.release(p)
					if cerr == nil {
						return nil
					}
				}
				err = cerr
				if !transient(cerr) && !errors.Is(cerr, ErrNotFound) {
					return cerr
				}
			}
		}
		if !transient(err) || !rt.again(ctx) {
			return err
		}
	}
}

// download reads fileID from the first storage that serves it; when a storage fails in
// the middle, the next one continues from the byte where it stopped.
func (t *trackerMode) download(ctx context.Context, fileID string, w io.Writer, offset, length int64) (int64, error) {
	var written int64
	err := t.onFetch(ctx, "download", fileID, func(c *Client) error {
		rest := int64(0)
		if length > 0 {
			rest = length - written
			if rest == 0 {
				return nil
			}
		}
		n, err := c.Download(ctx, fileID, w, offset+written, rest)
		written += n
		return err
	})
	return written, err
}
