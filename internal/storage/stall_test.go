package storage_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/proto/storagepb"
)

// TestStalledUploadEndsAtNetworkTimeout: an upload that sends its header and 64 KiB and then
// nothing is ended by the node after storage.conf's network_timeout, and leaves no file.
func TestStalledUploadEndsAtNetworkTimeout(t *testing.T) {
	dir := t.TempDir()
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nnetwork_timeout = 1\nreserved_storage_space = 1%%\nhttp.mod_fastdfs_conf = mod_fastdfs.conf\n", dir)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nstore_path0 = " + dir + "\n"
	node := launch(t, dir, storageConf, modConf, func(sc *conf.Storage) { sc.Port, sc.HTTP.ServerPort = 0, 0 })

	conn, err := grpc.NewClient(node.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := storagepb.NewStorageServiceClient(conn).Upload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: &storagepb.UploadHeader{Ext: "bin", StorePathIndex: -1, Size: 1 << 20}}})
	stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: make([]byte, 64<<10)}})
	time.Sleep(2500 * time.Millisecond)
	if _, err := stream.CloseAndRecv(); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("stalled upload: %v, want DeadlineExceeded from network_timeout", err)
	}
	filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".dat") && !strings.Contains(p, "sync") {
			t.Errorf("stalled upload left %s", p)
		}
		return nil
	})
}
