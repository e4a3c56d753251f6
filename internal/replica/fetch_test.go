package replica_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/testcluster"
	"github.com/depotfs/depot/proto/trackerpb"
)

// TestMissGoesToAMemberThatHasIt: a storage lacks a file whose source is down; its HTTP
// module proxies the download to another member the tracker knows to have the file
// instead of failing.
func TestMissGoesToAMemberThatHasIt(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{
		Trackers: 1, Groups: []string{"group1"}, StoragesPerGroup: 3,
		Tracker: func(_ int, tc *conf.Tracker) { tc.CheckActiveInterval = 2 * time.Second },
	})
	waitMembers(c)
	lacking := c.Storages[2]
	lacking.Stop()
	cl := c.Client()
	var id string
	var source, holder *testcluster.Storage
	b := content(7, 5000)
	c.Eventually("an upload to one of the two running storages", 30*time.Second, func() error {
		var err error
		id, err = cl.Upload(t.Context(), bytes.NewReader(b), client.UploadOptions{Group: "group1", Size: int64(len(b))})
		return err
	})
	for _, s := range c.Storages[:2] {
		if mustParse(t, id).SourceIPv4().String() == s.Host {
			source = s
		} else {
			holder = s
		}
	}
	conn, err := grpc.NewClient(c.Trackers[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := trackerpb.NewTrackerServiceClient(conn)
	c.Eventually("the tracker knows the other storage has the file", 30*time.Second, func() error {
		resp, err := tc.QueryFetch(t.Context(), &trackerpb.QueryFileRequest{FileId: id, All: true})
		if err != nil {
			return err
		}
		for _, s := range resp.GetStorages() {
			if s.GetKey() == holder.Key() {
				return nil
			}
		}
		return fmt.Errorf("QueryFetch names %v", resp.GetStorages())
	})
	source.Stop()
	lacking.Restart()
	c.Eventually("the source OFFLINE", 30*time.Second, func() error {
		st, err := c.Statuses(c.Trackers[0])
		if err != nil {
			return err
		}
		if st[source.Key()] != "OFFLINE" || st[lacking.Key()] != "ACTIVE" {
			return fmt.Errorf("statuses %v", st)
		}
		for _, m := range lacking.Node().Members() {
			if m.GetKey() == source.Key() && m.GetStatus() != trackerpb.StorageStatus_STORAGE_STATUS_OFFLINE {
				return fmt.Errorf("%s still sees the source %s", lacking, m.GetStatus())
			}
		}
		return nil
	})
	if _, err := readLocal(lacking, id); err == nil {
		t.Skip("the restarted storage got the file anyway")
	}
	code, got, err := httpGet(lacking, id)
	if err != nil || code != http.StatusOK || !bytes.Equal(got, b) {
		t.Fatalf("GET %s from %s (lacks it, source down): %d %v (%d bytes)", id, lacking, code, err, len(got))
	}
}

// TestReplicationWithStorageIDs: with use_storage_id the storages are keyed by id and file
// names carry the id; files still reach every member and downloads work from every node.
func TestReplicationWithStorageIDs(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{
		Trackers: 1, Groups: []string{"group1"}, StoragesPerGroup: 3, StorageIDs: true,
		Tracker: func(_ int, tc *conf.Tracker) { tc.CheckActiveInterval = 10 * time.Second },
	})
	waitMembers(c)
	cl := c.Client()
	want := map[string][]byte{}
	for i := range 12 {
		b := content(700+i, sizeOf(i))
		want[upload(t, cl, b, client.UploadOptions{Group: "group1"})] = b
	}
	c.Eventually("every file on every storage", 30*time.Second, func() error { return converged(c, "group1", want, nil) })
	for id, b := range want {
		for _, s := range c.Storages {
			code, got, err := httpGet(s, id)
			if err != nil || code != http.StatusOK || !bytes.Equal(got, b) {
				t.Fatalf("GET %s from %s: %d %v", id, s, code, err)
			}
		}
	}
}
