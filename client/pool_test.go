package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/proto/trackerpb"
)

// gatedStorage is a real storage service whose first `hold` uploads wait at the door
// until release is closed, and whose next upload fails at once as a broken connection
// would; the uploads after those run normally.
type gatedStorage struct {
	addr    string
	dir     string
	hold    int32
	calls   atomic.Int32
	waiting atomic.Int32 // uploads held at the door now
	release chan struct{}
}

func startGatedStorage(t *testing.T, hold int32) *gatedStorage {
	t.Helper()
	g := &gatedStorage{dir: t.TempDir(), hold: hold, release: make(chan struct{})}
	store, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: g.dir}}, SubdirCount: 2,
		StatFile: filepath.Join(t.TempDir(), "stat.dat"), Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	srv := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if !strings.HasSuffix(info.FullMethod, "/Upload") {
			return h(srv, ss)
		}
		switch n := g.calls.Add(1); {
		case n <= g.hold:
			g.waiting.Add(1)
			defer g.waiting.Add(-1)
			select {
			case <-g.release:
			case <-ss.Context().Done():
				return ss.Context().Err()
			}
		case n == g.hold+1:
			return status.Error(codes.Unavailable, "connection lost (test)")
		}
		return h(srv, ss)
	}))
	storagesvc.New(store, storagesvc.Options{Group: "group1"}).Register(srv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop(); store.Close() })
	return g
}

func (g *gatedStorage) files() int {
	n := 0
	_ = filepath.WalkDir(filepath.Join(g.dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".bin") {
			n++
		}
		return nil
	})
	return n
}

// TestTrackerModeDropKeepsCallsInFlight: an upload that fails on a storage drops the
// pooled connection to it, while other uploads are in flight on that connection. Those
// must go on (the connection is closed once they are done), not fail with "the client
// connection is closing" read as the caller's context.Canceled.
func TestTrackerModeDropKeepsCallsInFlight(t *testing.T) {
	const held = 4
	st := startGatedStorage(t, held)
	tr := startTracker(t)
	tr.store = []*trackerpb.StorageBrief{brief(t, st.addr)}
	c, err := client.New(client.Config{Trackers: []string{tr.addr}, RetryTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	upload := func(i int) (string, error) {
		data := []byte(fmt.Sprintf("file %d", i))
		return c.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Ext: "bin", Size: int64(len(data))})
	}

	errs := make([]error, held)
	var wg sync.WaitGroup
	for i := range held {
		wg.Go(func() { _, errs[i] = upload(i) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for st.waiting.Load() < held {
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads at the storage; want %d", st.waiting.Load(), held)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// This one fails once (the pooled connection is dropped), then is retried on a new one.
	if _, err := upload(held); err != nil {
		t.Fatalf("upload with a lost connection: %v", err)
	}
	close(st.release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upload %d in flight when the connection was dropped: %v", i, err)
		}
	}
	if n := st.files(); n != held+1 {
		t.Errorf("files stored = %d; want %d", n, held+1)
	}
}

// TestClosedConnectionIsUnavailable: a call cut by its connection closing, which the
// caller did not cancel, is ErrUnavailable (retryable), not context.Canceled; a call whose
// context the caller cancelled is context.Canceled.
func TestClosedConnectionIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool
		want   error
	}{
		{"connection closed", false, client.ErrUnavailable},
		{"caller cancelled", true, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := startGatedStorage(t, 1)
			c, err := client.New(client.Config{Storage: st.addr})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := c.Upload(ctx, strings.NewReader("x"), client.UploadOptions{Ext: "bin", Size: 1})
				errc <- err
			}()
			deadline := time.Now().Add(20 * time.Second)
			for st.waiting.Load() < 1 {
				if time.Now().After(deadline) {
					t.Fatal("the upload did not reach the storage")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if tc.cancel {
				cancel()
			} else {
				c.Close()
			}
			err = <-errc
			if !errors.Is(err, tc.want) {
				t.Errorf("Upload = %v; want %v", err, tc.want)
			}
			if !tc.cancel && errors.Is(err, context.Canceled) {
				t.Errorf("Upload = %v; the caller did not cancel", err)
			}
		})
	}
}
