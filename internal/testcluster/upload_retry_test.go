package testcluster_test

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/testcluster"
)

// swallow drops what a handler sends, as a connection that broke after the file was
// stored would.
type swallow struct{ grpc.ServerStream }

func (swallow) SendMsg(any) error { return nil }

func TestLostUploadAnswerRetriedStoresOnce(t *testing.T) {
	var lose, calls atomic.Int32
	lose.Store(1)
	c := testcluster.Start(t, testcluster.Options{
		Trackers: 2, Groups: []string{"group1"}, StoragesPerGroup: 1,
		Storage: func(_ string, _ int, _ *conf.Storage, cfg *storage.Config) {
			cfg.GRPCOptions = append(cfg.GRPCOptions, grpc.StreamInterceptor(
				func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
					if !strings.HasSuffix(info.FullMethod, "/Upload") {
						return h(srv, ss)
					}
					calls.Add(1)
					if lose.Add(-1) < 0 {
						return h(srv, ss)
					}
					if err := h(srv, swallow{ss}); err != nil {
						return err
					}
					return status.Error(codes.Unavailable, "connection lost after the file was stored (test)")
				}))
		},
	})
	cl := c.Client()
	data := bytes.Repeat([]byte("depot "), 100_000) // 600 kB: several chunks
	id, err := cl.Upload(context.Background(), bytes.NewReader(data), clientOpts("bin"))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upload calls = %d; want 2 (the answer was lost once)", n)
	}
	var files []string
	_ = filepath.WalkDir(filepath.Join(c.Storages[0].Dir(), "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".bin") {
			files = append(files, filepath.Base(p))
		}
		return nil
	})
	if len(files) != 1 || !strings.HasSuffix(id, files[0]) {
		t.Errorf("stored files %v for the client's %s; want exactly that one", files, id)
	}
	got, err := download(cl, id)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("download: %d bytes, %v", len(got), err)
	}
}
