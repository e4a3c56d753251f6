package testcluster_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/testcluster"
)

func TestClusterComesUp(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{}) // 3 trackers, 2 groups × 2 storages
	// Start waited for every storage to be ACTIVE on every tracker; the trackers, told of
	// nobody, found each other through the storages and agree on one leader.
	c.Eventually("one leader known to every tracker", 30*time.Second, func() error {
		if l := c.Leaders(); len(l) != 1 {
			return fmt.Errorf("%d leaders", len(l))
		}
		for _, tr := range c.Trackers {
			if n := len(tr.Peers()); n != 3 {
				return fmt.Errorf("tracker %s knows %d trackers", tr.Addr, n)
			}
		}
		return nil
	})
	resp, err := c.List(c.Trackers[1])
	if err != nil {
		t.Fatal(err)
	}
	var groups []string
	for _, g := range resp.GetGroups() {
		groups = append(groups, g.GetName())
		if len(g.GetStorages()) != 2 || g.GetActiveCount() != 2 {
			t.Errorf("group %s: %d storages, %d active", g.GetName(), len(g.GetStorages()), g.GetActiveCount())
		}
		for _, s := range g.GetStorages() {
			if s.GetFreeBytes() == 0 || len(s.GetDisk()) != 1 || s.GetBrief().GetHttpUrl() == "" {
				t.Errorf("storage %s: free %d, disk %v, http_url %q", s.GetBrief().GetKey(), s.GetFreeBytes(), s.GetDisk(), s.GetBrief().GetHttpUrl())
			}
		}
	}
	if !slices.Equal(groups, []string{"group1", "group2"}) {
		t.Errorf("groups = %v", groups)
	}
	// Each storage learned its group's membership from the trackers.
	for _, s := range c.Storages {
		if m := s.Node().Members(); len(m) != 2 {
			t.Errorf("storage %s knows %d members", s, len(m))
		}
	}
	// And a client in tracker mode works end to end.
	cl := c.Client()
	id, err := cl.Upload(t.Context(), bytes.NewReader([]byte("hi")), clientOpts("txt"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := cl.Download(t.Context(), id, &buf, 0, 0); err != nil || buf.String() != "hi" {
		t.Errorf("Download = %q, %v", buf.String(), err)
	}
}

func TestStorageIDs(t *testing.T) {
	// use_storage_id with id_type_in_filename = id: storages are known by id, file IDs
	// carry the id, and files are found by it.
	c := testcluster.Start(t, testcluster.Options{Trackers: 2, StorageIDs: true})
	resp, err := c.List(c.Trackers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range resp.GetGroups() {
		for _, s := range g.GetStorages() {
			if b := s.GetBrief(); b.GetKey() != b.GetId() || b.GetId() == "" {
				t.Errorf("storage key %q id %q; want the id as key", b.GetKey(), b.GetId())
			}
		}
	}
	cl := c.Client()
	ids := uploadN(t, cl, 8)
	byID := map[string]string{}
	for _, s := range c.Storages {
		byID[s.ID()] = s.Host
	}
	for _, s := range ids {
		id, err := fileid.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := id.ServerID()
		if !ok || byID[fmt.Sprint(n)] == "" {
			t.Errorf("file %s: source is not a storage id of the cluster (%d, %v)", s, n, ok)
		}
		if _, err := download(cl, s); err != nil {
			t.Errorf("download %s: %v", s, err)
		}
	}
}
