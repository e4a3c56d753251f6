package testcluster_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/testcluster"
	"github.com/depotfs/depot/proto/storagepb"
	"github.com/depotfs/depot/proto/trunkpb"
)

// trunkCluster is one tracker and a group of n storages with use_trunk_file on.
func trunkCluster(t *testing.T, n int) *testcluster.Cluster {
	t.Helper()
	return testcluster.Start(t, testcluster.Options{Trackers: 1, Groups: []string{"group1"}, StoragesPerGroup: n,
		Tracker: func(_ int, tc *conf.Tracker) {
			tc.UseTrunkFile = true
			tc.SlotMinSize, tc.SlotMaxSize, tc.TrunkAllocAlignmentSize = 256, 64<<10, 256
			tc.TrunkFileSize, tc.TrunkFreeSpaceMerge = 4<<20, true
		}})
}

// trunkServer waits until the tracker names a trunk server whose allocator has scanned every
// storage of the group (or, with partial, has started at all) and returns it.
func trunkServer(t *testing.T, c *testcluster.Cluster, partial bool) *testcluster.Storage {
	t.Helper()
	var got *testcluster.Storage
	c.Eventually("a trunk server ready", 20*time.Second, func() error {
		resp, err := c.List(c.Trackers[0])
		if err != nil {
			return err
		}
		key := resp.GetGroups()[0].GetTrunkServerKey()
		for _, s := range c.Storages {
			if s.Key() != key || !s.Running() {
				continue
			}
			st, err := trunkStatus(s)
			if err != nil {
				return err
			}
			if st.GetServing() && (partial || st.GetComplete()) {
				got = s
				return nil
			}
			return fmt.Errorf("trunk server %s: %+v", key, st)
		}
		return fmt.Errorf("trunk server %q not running", key)
	})
	c.Eventually("every storage knows the trunk server", 10*time.Second, func() error {
		for _, s := range c.Storages {
			if n := s.Node(); n != nil {
				if k, _ := n.Trunk().Server(); k != got.Key() {
					return fmt.Errorf("%s names %q", s, k)
				}
			}
		}
		return nil
	})
	return got
}

func trunkStatus(s *testcluster.Storage) (*trunkpb.StatusResponse, error) {
	cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return trunkpb.NewTrunkServiceClient(cc).Status(ctx, &trunkpb.StatusRequest{})
}

// uploadTo uploads data to one storage directly.
func uploadTo(ctx context.Context, cl storagepb.StorageServiceClient, data []byte) (string, error) {
	st, err := cl.Upload(ctx)
	if err != nil {
		return "", err
	}
	h := &storagepb.UploadHeader{Ext: "bin", StorePathIndex: -1, Size: int64(len(data))}
	if err := st.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: h}}); err != nil {
		return "", err
	}
	if err := st.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: data}}); err != nil {
		return "", err
	}
	resp, err := st.CloseAndRecv()
	return resp.GetFileId(), err
}

func storageClient(t *testing.T, s *testcluster.Storage) storagepb.StorageServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return storagepb.NewStorageServiceClient(cc)
}

// acked is a file a storage acknowledged, with its bytes.
type acked struct {
	id   string
	data []byte
}

// uploadMany uploads count files of varied small sizes to s; the tag makes contents unique.
func uploadMany(t *testing.T, s *testcluster.Storage, tag string, count int) []acked {
	t.Helper()
	cl := storageClient(t, s)
	var out []acked
	for i := range count {
		data := bytes.Repeat(fmt.Appendf(nil, "%s-%d;", tag, i), 1+(i*37)%400)
		id, err := uploadTo(t.Context(), cl, data)
		if err != nil {
			t.Fatalf("upload %s %d to %s: %v", tag, i, s, err)
		}
		out = append(out, acked{id, data})
	}
	return out
}

// checkNoOverlap fails when two trunk files share bytes of a trunk file.
func checkNoOverlap(t *testing.T, files []acked) {
	t.Helper()
	type span struct {
		start, end uint64
		id         string
	}
	byFile := map[[2]uint32][]span{}
	trunks := 0
	for _, f := range files {
		id, err := fileid.Parse(f.id)
		if err != nil {
			t.Fatal(err)
		}
		slot, ok := id.Trunk()
		if !ok {
			continue
		}
		trunks++
		k := [2]uint32{uint32(id.StorePath()), slot.File}
		byFile[k] = append(byFile[k], span{uint64(slot.Offset), uint64(slot.Offset) + uint64(slot.Size), f.id})
	}
	for k, ss := range byFile {
		slices.SortFunc(ss, func(a, b span) int { return int(int64(a.start) - int64(b.start)) })
		for i := 1; i < len(ss); i++ {
			if ss[i].start < ss[i-1].end {
				t.Fatalf("trunk file %v: %s and %s overlap", k, ss[i-1].id, ss[i].id)
			}
		}
	}
	if trunks != len(files) {
		t.Errorf("%d of %d files went to trunk slots", trunks, len(files))
	}
}

// checkEverywhere waits until every file reads back with its bytes from every storage.
func checkEverywhere(t *testing.T, c *testcluster.Cluster, files []acked) {
	t.Helper()
	for _, s := range c.Storages {
		cl := storageClient(t, s)
		c.Eventually("every file on "+s.String(), 30*time.Second, func() error {
			for _, f := range files {
				got, err := downloadFrom(t.Context(), cl, f.id)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", f.id, s, err)
				}
				if !bytes.Equal(got, f.data) {
					t.Fatalf("%s on %s: %d bytes differ from the %d uploaded", f.id, s, len(got), len(f.data))
				}
			}
			return nil
		})
	}
}

func downloadFrom(ctx context.Context, cl storagepb.StorageServiceClient, id string) ([]byte, error) {
	st, err := cl.Download(ctx, &storagepb.DownloadRequest{FileId: id})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for {
		m, err := st.Recv()
		if err != nil {
			if err.Error() == "EOF" {
				return b.Bytes(), nil
			}
			return nil, err
		}
		b.Write(m.GetData())
	}
}

// Two uploaders on two storages of a group get slots from the one trunk server and never
// share a byte; replication carries every slot to the other storage, deletes too.
func TestTrunkTwoUploadersNeverOverlap(t *testing.T) {
	c := trunkCluster(t, 2)
	trunkServer(t, c, false)
	var mu sync.Mutex
	var all []acked
	var wg sync.WaitGroup
	for i, s := range c.Storages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := uploadMany(t, s, fmt.Sprintf("s%d", i), 60)
			mu.Lock()
			all = append(all, got...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	checkNoOverlap(t, all)
	checkEverywhere(t, c, all)
	// Delete a third on the storage that did not create them; new files reuse the slots.
	cl := storageClient(t, c.Storages[1])
	var kept, gone []acked
	for i, f := range all {
		if i%3 != 0 {
			kept = append(kept, f)
			continue
		}
		if _, err := cl.Delete(t.Context(), &storagepb.DeleteRequest{FileId: f.id}); err != nil {
			t.Fatalf("delete %s: %v", f.id, err)
		}
		gone = append(gone, f)
	}
	st0, _ := trunkStatus(trunkServer(t, c, false))
	more := uploadMany(t, c.Storages[0], "again", len(gone))
	st1, _ := trunkStatus(trunkServer(t, c, false))
	if st1.GetFiles() != st0.GetFiles() || st1.GetFileBytes() != st0.GetFileBytes() {
		t.Errorf("trunk files grew from %d (%d bytes) to %d (%d bytes) though a third was deleted",
			st0.GetFiles(), st0.GetFileBytes(), st1.GetFiles(), st1.GetFileBytes())
	}
	checkNoOverlap(t, append(kept, more...))
	checkEverywhere(t, c, append(kept, more...))
}

// The trunk server stops mid-run: the tracker appoints the other storage, which goes on
// allocating (new trunk files first, then, once the old server is back and scanned, its
// free space too) without ever handing out a slot twice.
func TestTrunkServerFailover(t *testing.T) {
	c := trunkCluster(t, 2)
	first := trunkServer(t, c, false)
	var other *testcluster.Storage
	for _, s := range c.Storages {
		if s != first {
			other = s
		}
	}
	files := uploadMany(t, other, "before", 40)
	files = append(files, uploadMany(t, first, "before-ts", 20)...)
	first.Stop()
	second := trunkServer(t, c, true)
	if second != other {
		t.Fatalf("trunk server after failover is %s, want %s", second, other)
	}
	files = append(files, uploadMany(t, other, "during", 40)...)
	checkNoOverlap(t, files)
	first.Restart()
	trunkServer(t, c, false)
	files = append(files, uploadMany(t, first, "after-a", 30)...)
	files = append(files, uploadMany(t, other, "after-b", 30)...)
	checkNoOverlap(t, files)
	checkEverywhere(t, c, files)
}
