package client_test

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
	"github.com/depotfs/depot/proto/trackerpb"
)

// startFullStorage is a real storage service whose store path reports no free space.
func startFullStorage(t *testing.T) string {
	t.Helper()
	store, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: t.TempDir()}}, SubdirCount: 2,
		StatFile: filepath.Join(t.TempDir(), "stat.dat"), Source: [4]byte{127, 0, 0, 1},
		Reserved: disk.Reserved{Bytes: 1 << 20},
		Statfs:   func(string) (uint64, uint64, error) { return 100 << 20, 0, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	storagesvc.New(store, storagesvc.Options{Group: "group1"}).Register(srv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop(); store.Close() })
	return ln.Addr().String()
}

// A storage that answers "no space" kept nothing: tracker mode asks again and uploads where
// the tracker names next (as it does once the full storage's heartbeat has told it).
func TestTrackerModeStorageFullRetriesElsewhere(t *testing.T) {
	full := startFullStorage(t)
	ok := svctest.Start(t)
	tr := startTracker(t)
	tr.store = []*trackerpb.StorageBrief{brief(t, full), brief(t, ok.Addr)}
	c, err := client.New(client.Config{Trackers: []string{tr.addr}, RetryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, size := range []int64{1000, 0} { // announced and unannounced sizes
		data := bytes.Repeat([]byte("x"), 1000)
		if _, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Size: size}); err != nil {
			t.Fatalf("Upload (size %d) with the first storage full: %v", size, err)
		}
	}
	if n := len(ok.Files(t)); n != 2 {
		t.Errorf("files on the storage with space = %d; want 2", n)
	}
	tr.mu.Lock()
	calls := tr.calls
	tr.mu.Unlock()
	if calls < 4 {
		t.Errorf("QueryStore calls = %d; want 4 (each upload asked again after the full storage refused it)", calls)
	}

	// When the tracker names only the full storage, the upload fails with ErrNoSpace once the
	// retry timeout has passed.
	tr.mu.Lock()
	tr.store = []*trackerpb.StorageBrief{brief(t, full)}
	tr.mu.Unlock()
	c2, err := client.New(client.Config{Trackers: []string{tr.addr}, RetryTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Upload(t.Context(), bytes.NewReader([]byte("y")), client.UploadOptions{}); !errors.Is(err, client.ErrNoSpace) {
		t.Errorf("Upload with every storage full = %v; want ErrNoSpace", err)
	}
}
