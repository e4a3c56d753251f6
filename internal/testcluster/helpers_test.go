package testcluster_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/testcluster"
)

func clientOpts(ext string) client.UploadOptions { return client.UploadOptions{Ext: ext} }

// uploadN uploads n small files and returns their IDs.
func uploadN(t *testing.T, c *client.Client, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := c.Upload(context.Background(), bytes.NewReader(fmt.Appendf(nil, "file %d", i)), clientOpts("txt"))
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	return ids
}

// placement counts files per storage host (the source address in each ID).
func placement(t *testing.T, ids []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range ids {
		id, err := fileid.Parse(s)
		if err != nil {
			t.Fatalf("file id %q: %v", s, err)
		}
		out[id.SourceIPv4().String()]++
	}
	return out
}

// groupCounts counts files per group.
func groupCounts(t *testing.T, ids []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range ids {
		id, err := fileid.Parse(s)
		if err != nil {
			t.Fatalf("file id %q: %v", s, err)
		}
		out[id.Group()]++
	}
	return out
}

// hostsOf returns the hosts of the cluster's storages of group.
func hostsOf(c *testcluster.Cluster, group string) []string {
	var out []string
	for _, s := range c.Storages {
		if s.Group == group {
			out = append(out, s.Host)
		}
	}
	return out
}

// download fetches id through c.
func download(c *client.Client, id string) ([]byte, error) {
	var buf bytes.Buffer
	_, err := c.Download(context.Background(), id, &buf, 0, 0)
	return buf.Bytes(), err
}
