package clustertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/trunk"
	"github.com/depotfs/depot/proto/storagepb"
	"github.com/depotfs/depot/proto/trackerpb"
	"github.com/depotfs/depot/proto/trunkpb"
)

// trunkNode is a storage process of the trunk scenario.
type trunkNode struct {
	*proc
	key string
	cc  *grpc.ClientConn
}

// startTrunkCluster starts one tracker with use_trunk_file and n storages of group1 as
// processes on 127.0.0.3x.
func startTrunkCluster(t *testing.T, n int) (string, []*trunkNode, []*proc) {
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()
	th := "127.0.0.31"
	tport := freePorts(t, th, 3)
	taddr := net.JoinHostPort(th, strconv.Itoa(tport))
	tdir := filepath.Join(root, "tracker")
	tconf := filepath.Join(tdir, "tracker.conf")
	writeConf(t, tconf, fmt.Sprintf(`bind_addr = %s
port = %d
base_path = %s
reserved_storage_space = 1%%
check_active_interval = 2
use_trunk_file = true
slot_min_size = 256
slot_max_size = 64KB
trunk_alloc_alignment_size = 256
trunk_file_size = 4MB
trunk_free_space_merge = true
`, th, tport, tdir))
	tr := &proc{t: t, name: "tracker " + taddr, bin: trackerBin, conf: tconf, log: filepath.Join(tdir, "out.log")}
	all := []*proc{tr}
	var nodes []*trunkNode
	for i := range n {
		h := fmt.Sprintf("127.0.0.%d", 32+i)
		port := freePorts(t, h, 2)
		dir := filepath.Join(root, fmt.Sprintf("storage%d", i))
		conf := filepath.Join(dir, "storage.conf")
		writeConf(t, conf, storageConf("group1", h, port, dir, taddr))
		key := net.JoinHostPort(h, strconv.Itoa(port))
		cc, err := grpc.NewClient(key, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		nd := &trunkNode{proc: &proc{t: t, name: "storage " + h, bin: storageBin, conf: conf, log: filepath.Join(dir, "out.log")}, key: key, cc: cc}
		nodes = append(nodes, nd)
		all = append(all, nd.proc)
	}
	for _, p := range all {
		p.start()
		t.Cleanup(p.kill)
	}
	return taddr, nodes, all
}

// trunkServerOf waits until the tracker names a trunk server that serves allocations
// (complete: after scanning every storage) and returns it.
func trunkServerOf(t *testing.T, taddr string, nodes []*trunkNode, complete bool, not string, all []*proc) *trunkNode {
	t.Helper()
	var got *trunkNode
	poll(t, "a trunk server serving", 60*time.Second, func() error {
		key, err := trunkKey(taddr)
		if err != nil {
			return err
		}
		for _, nd := range nodes {
			if nd.key != key || key == not {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := trunkpb.NewTrunkServiceClient(nd.cc).Status(ctx, &trunkpb.StatusRequest{})
			cancel()
			if err != nil {
				return err
			}
			if !st.GetServing() || complete && !st.GetComplete() {
				return fmt.Errorf("trunk server %s: %+v", key, st)
			}
			got = nd
			return nil
		}
		return fmt.Errorf("trunk server is %q", key)
	}, all...)
	return got
}

func trunkKey(taddr string) (string, error) {
	cc, err := grpc.NewClient(taddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := trackerpb.NewTrackerServiceClient(cc).ListGroups(ctx, &trackerpb.ListGroupsRequest{})
	if err != nil {
		return "", err
	}
	if len(resp.GetGroups()) == 0 {
		return "", errors.New("no group yet")
	}
	return resp.GetGroups()[0].GetTrunkServerKey(), nil
}

func uploadSmall(ctx context.Context, cc *grpc.ClientConn, data []byte) (string, error) {
	st, err := storagepb.NewStorageServiceClient(cc).Upload(ctx)
	if err != nil {
		return "", err
	}
	h := &storagepb.UploadHeader{Ext: "dat", StorePathIndex: -1, Size: int64(len(data))}
	if err := st.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: h}}); err != nil {
		return "", err
	}
	if err := st.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: data}}); err != nil {
		return "", err
	}
	resp, err := st.CloseAndRecv()
	return resp.GetFileId(), err
}

func downloadAll(ctx context.Context, cc *grpc.ClientConn, id string) ([]byte, error) {
	st, err := storagepb.NewStorageServiceClient(cc).Download(ctx, &storagepb.DownloadRequest{FileId: id})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for {
		m, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return b.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		b.Write(m.GetData())
	}
}

// TestTrunkServerKilled runs an uploader against every storage of a 3-storage group with
// trunk files on, SIGKILLs the trunk server in the middle, and lets the uploads go on: the
// tracker appoints another trunk server, which allocates on (new trunk files until it has
// scanned every storage, then all free space). The killed storage comes back. No two
// acknowledged trunk files ever share a byte, and every acknowledged file reads back with
// its bytes from every storage of the group.
func TestTrunkServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	taddr, nodes, all := startTrunkCluster(t, 3)
	first := trunkServerOf(t, taddr, nodes, true, "", all)

	var mu sync.Mutex
	acked := map[string][]byte{}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ctx.Err() == nil; j++ {
				data := bytes.Repeat(fmt.Appendf(nil, "n%d-%d;", i, j), 1+(j*53)%900)
				uctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				id, err := uploadSmall(uctx, nd.cc, data)
				cancel()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[id] = data
				mu.Unlock()
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	poll(t, "uploads before the kill", 30*time.Second, func() error {
		if n := count(); n < 60 {
			return fmt.Errorf("%d files", n)
		}
		return nil
	}, all...)
	first.kill()
	killedAt := count()
	second := trunkServerOf(t, taddr, nodes, false, first.key, all)
	poll(t, "uploads after the failover", 30*time.Second, func() error {
		if n := count(); n < killedAt+60 {
			return fmt.Errorf("%d files", n)
		}
		return nil
	}, all...)
	first.start()
	trunkServerOf(t, taddr, nodes, true, first.key, all)
	poll(t, "uploads after the restart", 30*time.Second, func() error {
		if n := count(); n < killedAt+120 {
			return fmt.Errorf("%d files", n)
		}
		return nil
	}, all...)
	stop()
	wg.Wait()

	// No overlap among acknowledged trunk files; the new trunk server made some of them.
	type span struct {
		start, end uint64
		id         string
	}
	byFile := map[uint32][]span{}
	newEpoch := 0
	for id := range acked {
		fid, err := fileid.Parse(id)
		if err != nil {
			t.Fatal(err)
		}
		slot, ok := fid.Trunk()
		if !ok {
			continue
		}
		if slot.File >= 2*trunk.FileIDSpan {
			newEpoch++
		}
		byFile[slot.File] = append(byFile[slot.File], span{uint64(slot.Offset), uint64(slot.Offset) + uint64(slot.Size), id})
	}
	trunks := 0
	for f, ss := range byFile {
		trunks += len(ss)
		slices.SortFunc(ss, func(a, b span) int { return int(int64(a.start) - int64(b.start)) })
		for i := 1; i < len(ss); i++ {
			if ss[i].start < ss[i-1].end {
				t.Fatalf("trunk file %d: %s and %s overlap", f, ss[i-1].id, ss[i].id)
			}
		}
	}
	t.Logf("%d files acknowledged, %d in trunk slots, %d in trunk files of the new trunk server %s", len(acked), trunks, newEpoch, second.key)
	// While no trunk server answers (between the kill and the new appointment) uploads
	// go to normal files; before and after they go to slots.
	if trunks < 60 || newEpoch == 0 {
		t.Errorf("%d of %d files in trunk slots, %d from the new trunk server; want at least 60, and some", trunks, len(acked), newEpoch)
	}
	for _, nd := range nodes {
		poll(t, "every acknowledged file on "+nd.key, 60*time.Second, func() error {
			for id, data := range acked {
				got, err := downloadAll(context.Background(), nd.cc, id)
				if err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s on %s: %d bytes differ from the %d acknowledged", id, nd.key, len(got), len(data))
				}
			}
			return nil
		}, all...)
	}
}
