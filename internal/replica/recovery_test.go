package replica_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/testcluster"
	"github.com/depotfs/depot/proto/trackerpb"
)

// countFiles counts stored files (data/XX/YY/name, metadata files excluded) of a node.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	data := filepath.Join(dir, "data")
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if d.Type().IsRegular() && strings.Count(rel, "/") == 2 && !strings.HasPrefix(rel, ".") && !strings.HasSuffix(rel, "-m") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// exactly checks every running storage of the group holds exactly the files of want.
func exactly(t *testing.T, c *testcluster.Cluster, want map[string][]byte, gone []string) {
	t.Helper()
	c.Eventually("every file on every storage, deleted ones nowhere", 60*time.Second, func() error {
		return converged(c, "group1", want, gone)
	})
	for _, s := range c.Storages {
		if got := countFiles(t, s.Dir()); got != len(want) {
			t.Errorf("%s holds %d files, want %d", s, got, len(want))
		}
	}
}

// TestPeerDownThenBack stops a storage, uploads and deletes while it is down, and starts it
// again: it gets the new files, loses the deleted ones, and nothing is duplicated.
func TestPeerDownThenBack(t *testing.T) {
	c := oneGroup(t, 3)
	cl := c.Client()
	want := map[string][]byte{}
	var before []string
	for i := range 10 {
		b := content(100+i, sizeOf(i))
		id := upload(t, cl, b, client.UploadOptions{Group: "group1"})
		want[id] = b
		before = append(before, id)
	}
	exactly(t, c, want, nil)

	down := c.Storages[2]
	down.Stop()
	var gone []string
	for _, id := range before {
		if len(gone) == 4 {
			break
		}
		if mustParse(t, id).SourceIPv4().String() == down.Host {
			continue // its source is down: the tracker would send the delete there
		}
		if err := cl.Delete(t.Context(), id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		delete(want, id)
		gone = append(gone, id)
	}
	for i := range 15 {
		b := content(200+i, sizeOf(i))
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
	}
	down.Restart()
	exactly(t, c, want, gone)
}

// TestRestartMidReplication stops a storage while files replicate from it and to it, then
// starts it again: its cursors resume, no file is lost or duplicated.
func TestRestartMidReplication(t *testing.T) {
	c := oneGroup(t, 3)
	cl := c.Client()
	want := map[string][]byte{}
	restarted := c.Storages[0]
	for i := range 40 {
		b := content(300+i, sizeOf(i)*3)
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
		if i == 20 {
			restarted.Stop()
			restarted.Restart()
		}
	}
	exactly(t, c, want, nil)
}

// TestNewStorageCatchesUp adds a fourth storage to a group that holds files: it copies all
// of them, becomes ACTIVE only then, and the tracker never names it for a file it lacks.
func TestNewStorageCatchesUp(t *testing.T) {
	n, size := 30, 0
	if full() {
		n, size = 1024, 1<<20 // 1 GiB
	}
	c := oneGroup(t, 3)
	cl := c.Client()
	want := map[string][]byte{}
	for i := range n {
		s := sizeOf(i)
		if size > 0 {
			s = size
		}
		b := content(400+i, s)
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
	}
	conn, err := grpc.NewClient(c.Trackers[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := trackerpb.NewTrackerServiceClient(conn)

	// The members report has_files with their sync progress: wait for both.
	exactly(t, c, want, nil)
	c.Eventually("members report their sync progress", 30*time.Second, func() error {
		l, err := c.List(c.Trackers[0])
		if err != nil {
			return err
		}
		for _, g := range l.GetGroups() {
			for _, s := range g.GetStorages() {
				if len(s.GetSync()) == 0 || s.GetSync()[0].GetLastSyncedTs() == 0 {
					return fmt.Errorf("%s reports no progress", s.GetBrief().GetKey())
				}
			}
		}
		return nil
	})
	added := c.AddStorage("group1", 3, "")
	// Watch its states on a quick loop of its own: the check below is slow (a query and a
	// read per file), and on a loaded machine the new storage passed through WAIT_SYNC and
	// SYNCING between two of its rounds.
	var sawSyncing atomic.Bool
	watchCtx, stopWatch := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watchCtx.Err() == nil {
			if st, err := c.Statuses(c.Trackers[0]); err == nil {
				if s := st[added.Key()]; s == "WAIT_SYNC" || s == "SYNCING" {
					sawSyncing.Store(true)
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	c.Eventually("the new storage ACTIVE with every file", 120*time.Second, func() error {
		st, err := c.Statuses(c.Trackers[0])
		if err != nil {
			return err
		}
		status := st[added.Key()]
		if status == "WAIT_SYNC" || status == "SYNCING" {
			sawSyncing.Store(true)
		}
		for id, b := range want {
			resp, err := tc.QueryFetch(t.Context(), &trackerpb.QueryFileRequest{FileId: id, All: true})
			if err != nil {
				return err
			}
			for _, s := range resp.GetStorages() {
				if s.GetKey() != added.Key() {
					continue
				}
				got, err := readLocal(added, id)
				if err != nil || len(got) != len(b) {
					t.Fatalf("tracker names %s (%s) for %s, which it lacks: %v", added, status, id, err)
				}
			}
		}
		if status != "ACTIVE" {
			return fmt.Errorf("new storage is %s", status)
		}
		return converged(c, "group1", want, nil)
	})
	stopWatch()
	<-watched
	if !sawSyncing.Load() {
		t.Error("the new storage was never WAIT_SYNC or SYNCING")
	}
	for _, s := range c.Storages {
		if got := countFiles(t, s.Dir()); got != len(want) {
			t.Errorf("%s holds %d files, want %d", s, got, len(want))
		}
	}
}

// TestWipedStorageCopiesAgain: a storage whose disk was replaced (store path and binlog
// gone) comes back under the same address: the tracker makes it wait for a full copy, it
// gets every file again, and it is not named for a file before it has it.
func TestWipedStorageCopiesAgain(t *testing.T) {
	c := oneGroup(t, 3)
	cl := c.Client()
	want := map[string][]byte{}
	for i := range 20 {
		b := content(500+i, sizeOf(i))
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
	}
	exactly(t, c, want, nil)
	wiped := c.Storages[2]
	wiped.Stop()
	if err := os.RemoveAll(filepath.Join(wiped.Dir(), "data")); err != nil {
		t.Fatal(err)
	}
	wiped.Restart()
	conn, err := grpc.NewClient(c.Trackers[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := trackerpb.NewTrackerServiceClient(conn)
	// Until it joins again the tracker cannot know the disk was replaced.
	c.Eventually("the wiped storage joined again", 30*time.Second, func() error {
		if n := wiped.Node(); n == nil || len(n.TrackerKeys()) == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	c.Eventually("the wiped storage ACTIVE with every file", 60*time.Second, func() error {
		for id := range want {
			resp, err := tc.QueryFetch(t.Context(), &trackerpb.QueryFileRequest{FileId: id, All: true})
			if err != nil {
				return err
			}
			for _, s := range resp.GetStorages() {
				if s.GetKey() == wiped.Key() {
					if _, err := readLocal(wiped, id); err != nil {
						t.Fatalf("tracker names the wiped %s for %s, which it lacks: %v", wiped, id, err)
					}
				}
			}
		}
		st, err := c.Statuses(c.Trackers[0])
		if err != nil {
			return err
		}
		if st[wiped.Key()] != "ACTIVE" {
			return fmt.Errorf("wiped storage is %s", st[wiped.Key()])
		}
		return converged(c, "group1", want, nil)
	})
}

// TestCatchUpFromSourceOnly: the storage that took half of the files is gone (stopped and
// deleted from the group) when a new storage joins; the new storage still gets every file,
// from its sync source's replica records.
func TestCatchUpFromSourceOnly(t *testing.T) {
	c := oneGroupActive(t, 2, 3*time.Second)
	cl := c.Client()
	want := map[string][]byte{}
	for i := range 20 {
		b := content(600+i, sizeOf(i))
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
	}
	ap := upload(t, cl, []byte("start"), client.UploadOptions{Group: "group1", Appender: true})
	if err := cl.Append(t.Context(), ap, strings.NewReader("+more"), 5); err != nil {
		t.Fatal(err)
	}
	want[ap] = []byte("start+more")
	exactly(t, c, want, nil)
	gone := c.Storages[1]
	gone.Stop()
	conn, err := grpc.NewClient(c.Trackers[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := trackerpb.NewTrackerServiceClient(conn)
	c.Eventually("the stopped storage deleted from the group", 60*time.Second, func() error {
		_, err := tc.DeleteStorage(t.Context(), &trackerpb.DeleteStorageRequest{Group: "group1", StorageKey: gone.Key()})
		return err
	})
	c.Storages = c.Storages[:1]
	added := c.AddStorage("group1", 2, "")
	c.Eventually("the new storage ACTIVE with every file", 60*time.Second, func() error {
		st, err := c.Statuses(c.Trackers[0])
		if err != nil {
			return err
		}
		if st[added.Key()] != "ACTIVE" {
			return fmt.Errorf("new storage is %s", st[added.Key()])
		}
		return converged(c, "group1", want, nil)
	})
}
