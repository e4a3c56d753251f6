package replica_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/testcluster"
)

// full reports whether the full-size scenarios run (DEPOT_FULL=1).
func full() bool { return os.Getenv("DEPOT_FULL") == "1" }

// content is deterministic test data of size n.
func content(seed, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sizeOf gives a mix of sizes: empty, tiny, a few KiB, and chunk-crossing ones.
func sizeOf(i int) int {
	switch i % 5 {
	case 0:
		return 0
	case 1:
		return 1 + i%100
	case 2:
		return 4096 + i
	case 3:
		return 300<<10 + i
	}
	return 20<<10 + i*7
}

// readLocal reads id from a node's own store (no redirect, no tracker).
func readLocal(s *testcluster.Storage, id string) ([]byte, error) {
	n := s.Node()
	if n == nil {
		return nil, errors.New("stopped")
	}
	fid, err := fileid.Parse(id)
	if err != nil {
		return nil, err
	}
	f, err := n.Store().Open(fid)
	if err != nil {
		return nil, err
	}
	defer f.F.Close()
	return io.ReadAll(io.NewSectionReader(f.F, f.Offset, f.Size))
}

// converged checks every running storage of the group holds want and none of gone.
func converged(c *testcluster.Cluster, group string, want map[string][]byte, gone []string) error {
	for _, s := range c.Storages {
		if s.Group != group || !s.Running() {
			continue
		}
		for id, b := range want {
			got, err := readLocal(s, id)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", s, id, err)
			}
			if !bytes.Equal(got, b) {
				return fmt.Errorf("%s: %s: %d bytes differ from the %d uploaded", s, id, len(got), len(b))
			}
		}
		for _, id := range gone {
			if _, err := readLocal(s, id); !errors.Is(err, disk.ErrNotFound) {
				return fmt.Errorf("%s: deleted %s still there (%v)", s, id, err)
			}
		}
	}
	return nil
}

// httpGet downloads id through a node's HTTP module (which redirects or proxies a miss).
func httpGet(s *testcluster.Storage, id string) (int, []byte, error) {
	n := s.Node()
	if n == nil {
		return 0, nil, errors.New("stopped")
	}
	resp, err := http.Get("http://" + n.HTTPAddr() + "/" + id)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// oneGroup starts one tracker and a group of storages. check_active_interval is longer
// than the harness's 1 s: on a loaded CI machine a storage must not flap OFFLINE while
// it replicates.
func oneGroup(t *testing.T, storages int) *testcluster.Cluster {
	return oneGroupActive(t, storages, 10*time.Second)
}

// oneGroupActive is oneGroup with the given check_active_interval.
func oneGroupActive(t *testing.T, storages int, checkActive time.Duration) *testcluster.Cluster {
	c := testcluster.Start(t, testcluster.Options{
		Trackers: 1, Groups: []string{"group1"}, StoragesPerGroup: storages,
		Tracker: func(_ int, tc *conf.Tracker) { tc.CheckActiveInterval = checkActive },
	})
	waitMembers(c)
	return c
}

// waitMembers waits until every running storage knows every other from a heartbeat.
func waitMembers(c *testcluster.Cluster) {
	c.Eventually("every storage knows its group", 30*time.Second, func() error {
		for _, s := range c.Storages {
			if n := s.Node(); n != nil {
				if got := len(n.Members()); got != len(c.Storages) {
					return fmt.Errorf("%s knows %d members", s, got)
				}
			}
		}
		return nil
	})
}

func upload(t *testing.T, cl *client.Client, b []byte, o client.UploadOptions) string {
	t.Helper()
	o.Size = int64(len(b))
	id, err := cl.Upload(t.Context(), bytes.NewReader(b), o)
	if err != nil {
		t.Fatalf("upload of %d bytes: %v", len(b), err)
	}
	return id
}

// TestGroupReplicationUnderReads uploads files of mixed sizes to a 3-storage group while
// every node serves downloads of them: no download ever fails, and every file ends on
// every node with its bytes.
func TestGroupReplicationUnderReads(t *testing.T) {
	n := 60
	if full() {
		n = 2000
	}
	c := oneGroup(t, 3)
	cl := c.Client()
	want := map[string][]byte{}
	var mu sync.Mutex
	ids := make(chan string, n)
	var readers sync.WaitGroup
	var failures []string
	for range 3 {
		readers.Go(func() {
			for id := range ids {
				mu.Lock()
				b := want[id]
				mu.Unlock()
				for _, s := range c.Storages {
					code, got, err := httpGet(s, id)
					if err != nil || code != http.StatusOK || !bytes.Equal(got, b) {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("GET %s from %s: %d %v (%d bytes %.40q, want %d)", id, s, code, err, len(got), got, len(b)))
						mu.Unlock()
					}
				}
				var buf bytes.Buffer
				if _, err := cl.Download(context.Background(), id, &buf, 0, 0); err != nil || !bytes.Equal(buf.Bytes(), b) {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("client download %s: %v", id, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		b := content(i, sizeOf(i))
		id := upload(t, cl, b, client.UploadOptions{Ext: "bin", Metadata: map[string]string{"i": fmt.Sprint(i)}})
		mu.Lock()
		want[id] = b
		mu.Unlock()
		ids <- id
	}
	close(ids)
	readers.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failed downloads, first: %s", len(failures), strings.Join(failures[:min(5, len(failures))], "\n"))
	}
	c.Eventually("every file on every storage", 60*time.Second, func() error { return converged(c, "group1", want, nil) })
	for id := range want {
		for _, s := range c.Storages {
			m, err := s.Node().Store().Meta(mustParse(t, id))
			if err != nil || m["i"] == "" {
				t.Fatalf("%s: metadata of %s = %v, %v", s, id, m, err)
			}
		}
		break
	}
}

func mustParse(t *testing.T, id string) fileid.ID {
	t.Helper()
	f, err := fileid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAppenderMetadataDeleteReplicate covers the other operations: append, modify,
// truncate, metadata and delete reach every storage.
func TestAppenderMetadataDeleteReplicate(t *testing.T) {
	c := oneGroup(t, 3)
	cl := c.Client()
	ctx := t.Context()
	base := content(1, 1000)
	ap := upload(t, cl, base, client.UploadOptions{Appender: true})
	more := content(2, 300<<10)
	if err := cl.Append(ctx, ap, bytes.NewReader(more), int64(len(more))); err != nil {
		t.Fatal(err)
	}
	if err := cl.Modify(ctx, ap, 10, strings.NewReader("MODIFIED"), 8); err != nil {
		t.Fatal(err)
	}
	if err := cl.Truncate(ctx, ap, 5000); err != nil {
		t.Fatal(err)
	}
	wantAp := append(append([]byte{}, base...), more...)[:5000]
	copy(wantAp[10:], "MODIFIED")
	doomed := upload(t, cl, content(3, 5000), client.UploadOptions{})
	kept := upload(t, cl, content(4, 10), client.UploadOptions{})
	if err := cl.SetMetadata(ctx, kept, map[string]string{"color": "blue"}, false); err != nil {
		t.Fatal(err)
	}
	if err := cl.Delete(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{ap: wantAp, kept: content(4, 10)}
	// Each change is in the binlog of the storage that made it (upper case) before the
	// client got its answer, and in the others' in lower case once applied there.
	c.Eventually("every change in every binlog", 30*time.Second, func() error {
		ops := map[byte]int{}
		for _, s := range c.Storages {
			r := binlog.NewReader(filepath.Join(s.Dir(), "data", "sync"), binlog.Position{}, nil)
			for {
				rec, _, err := r.Next()
				if err != nil {
					break
				}
				ops[byte(rec.Op)]++
			}
			r.Close()
		}
		// A change may reach the others inside a later whole copy (the append, as the file
		// was truncated by the time it was sent) or not at all (the upload of a file deleted
		// before it was sent): such changes have no lower-case record.
		for _, op := range "CAMTUD" {
			if ops[byte(op)] == 0 || op != 'A' && ops[byte(op)+'a'-'A'] == 0 {
				return fmt.Errorf("binlog ops %v: want %c on its storage and %c on the two others", ops, op, op+'a'-'A')
			}
		}
		return nil
	})
	c.Eventually("appender, metadata and delete everywhere", 30*time.Second, func() error {
		if err := converged(c, "group1", want, []string{doomed}); err != nil {
			return err
		}
		for _, s := range c.Storages {
			m, err := s.Node().Store().Meta(mustParse(t, kept))
			if err != nil || m["color"] != "blue" {
				return fmt.Errorf("%s: metadata %v %v", s, m, err)
			}
		}
		return nil
	})
}
