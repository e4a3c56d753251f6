package testcluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/testcluster"
)

// freeSpace makes the store paths of a storage report total/free bytes.
func freeSpace(total, free uint64) func(string) (uint64, uint64, error) {
	return func(string) (uint64, uint64, error) { return total, free, nil }
}

func TestUploadsSpreadByMode(t *testing.T) {
	const n = 12
	tests := []struct {
		name    string
		tracker func(*conf.Tracker)
		storage func(group string, i int, sc *conf.Storage, cfg *storage.Config)
		check   func(t *testing.T, c *testcluster.Cluster, ids []string)
	}{
		{
			name:    "store_lookup=0 round robin over groups, store_server=0 round robin in a group",
			tracker: func(tc *conf.Tracker) { tc.StoreLookup, tc.StoreServer = 0, 0 },
			check: func(t *testing.T, c *testcluster.Cluster, ids []string) {
				g := groupCounts(t, ids)
				if g["group1"] != n/2 || g["group2"] != n/2 {
					t.Errorf("files per group = %v; want %d each", g, n/2)
				}
				p := placement(t, ids)
				for _, s := range c.Storages {
					if p[s.Host] != n/4 {
						t.Errorf("files per storage = %v; want %d each", p, n/4)
						break
					}
				}
			},
		},
		{
			name:    "store_lookup=1 the store_group",
			tracker: func(tc *conf.Tracker) { tc.StoreLookup, tc.StoreGroup = 1, "group2" },
			check: func(t *testing.T, c *testcluster.Cluster, ids []string) {
				if g := groupCounts(t, ids); g["group2"] != n {
					t.Errorf("files per group = %v; want all %d in group2", g, n)
				}
			},
		},
		{
			name:    "store_lookup=2 the group with most free space",
			tracker: func(tc *conf.Tracker) { tc.StoreLookup = 2 },
			storage: func(group string, _ int, _ *conf.Storage, cfg *storage.Config) {
				if group == "group1" {
					cfg.Statfs = freeSpace(1<<40, 1<<39)
				} else {
					cfg.Statfs = freeSpace(1<<40, 1<<38)
				}
			},
			check: func(t *testing.T, c *testcluster.Cluster, ids []string) {
				if g := groupCounts(t, ids); g["group1"] != n {
					t.Errorf("files per group = %v; want all %d in group1 (most free)", g, n)
				}
			},
		},
		{
			name:    "store_server=1 the first storage by address",
			tracker: func(tc *conf.Tracker) { tc.StoreLookup, tc.StoreGroup, tc.StoreServer = 1, "group1", 1 },
			check: func(t *testing.T, c *testcluster.Cluster, ids []string) {
				first := hostsOf(c, "group1")[0] // hosts are numbered in order
				if p := placement(t, ids); p[first] != n {
					t.Errorf("files per storage = %v; want all %d on %s", p, n, first)
				}
			},
		},
		{
			name:    "store_server=2 the lowest upload_priority",
			tracker: func(tc *conf.Tracker) { tc.StoreLookup, tc.StoreGroup, tc.StoreServer = 1, "group1", 2 },
			storage: func(_ string, i int, sc *conf.Storage, _ *storage.Config) {
				sc.UploadPriority = 10 - i // the second storage of each group wins
			},
			check: func(t *testing.T, c *testcluster.Cluster, ids []string) {
				second := hostsOf(c, "group1")[1]
				if p := placement(t, ids); p[second] != n {
					t.Errorf("files per storage = %v; want all %d on %s", p, n, second)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testcluster.Start(t, testcluster.Options{
				Trackers: 1,
				Tracker:  func(_ int, tc *conf.Tracker) { tt.tracker(tc) },
				Storage:  tt.storage,
			})
			ids := uploadN(t, c.Client(), n)
			tt.check(t, c, ids)
		})
	}
}

func TestFullGroupIsSkipped(t *testing.T) {
	// group1's storages report 512 KiB free, below the tracker's 1 MiB reserve.
	c := testcluster.Start(t, testcluster.Options{
		Trackers: 2,
		Storage: func(group string, _ int, _ *conf.Storage, cfg *storage.Config) {
			if group == "group1" {
				cfg.Statfs = freeSpace(1<<30, 512<<10)
			}
		},
	})
	cl := c.Client()
	ids := uploadN(t, cl, 10)
	if g := groupCounts(t, ids); g["group2"] != 10 {
		t.Errorf("files per group = %v; want all in group2 (group1 is full)", g)
	}
	// Asking for the full group explicitly is "no space".
	_, err := cl.Upload(context.Background(), strings.NewReader("x"), client.UploadOptions{Group: "group1"})
	if !errors.Is(err, client.ErrNoSpace) {
		t.Errorf("upload to the full group = %v; want ErrNoSpace", err)
	}
}
