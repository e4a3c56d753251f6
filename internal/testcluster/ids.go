package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/depotfs/depot/internal/conf"
)

// writeStorageIDs writes storage_ids.conf for every storage Start will add.
func (c *Cluster) writeStorageIDs() {
	c.t.Helper()
	var b strings.Builder
	c.idOf = map[string]string{}
	n := 0
	for _, g := range c.opts.Groups {
		for range c.opts.StoragesPerGroup {
			n++
			host := c.host(2, n)
			id := fmt.Sprint(100000 + n)
			c.idOf[host] = id
			fmt.Fprintf(&b, "%s %s %s\n", id, g, host)
		}
	}
	c.idsFile = filepath.Join(c.t.TempDir(), "storage_ids.conf")
	if err := os.WriteFile(c.idsFile, []byte(b.String()), 0o644); err != nil {
		c.t.Fatal(err)
	}
	ids, err := conf.ParseStorageIDs(c.idsFile, []byte(b.String()))
	if err != nil {
		c.t.Fatalf("testcluster: storage_ids.conf: %v", err)
	}
	c.ids = ids
}

// ID returns the storage id of a storage with Options.StorageIDs ("" without).
func (s *Storage) ID() string { return s.c.idOf[s.Host] }
