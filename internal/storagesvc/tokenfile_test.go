package storagesvc_test

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/proto/storagepb"
)

// startWithTokenFile serves a service over the store in dir with the token file tf.
func startWithTokenFile(t *testing.T, dir, tf string) storagepb.StorageServiceClient {
	t.Helper()
	store, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: dir}}, SubdirCount: 2,
		StatFile: filepath.Join(t.TempDir(), "stat.dat"), Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	storagesvc.New(store, storagesvc.Options{Group: "group1", TokenFile: tf}).Register(srv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop(); store.Close() })
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return storagepb.NewStorageServiceClient(conn)
}

func TestUploadTokenFileAfterCrash(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "data", "upload_tokens.dat")
	c := startWithTokenFile(t, dir, tf)
	h := func(tok string) *storagepb.UploadRequest {
		return header(&storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: 5, UploadToken: []byte(tok)})
	}
	stored, err := sendUpload(t, c, h("stored-before-kill"), chunk([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	// As a process killed right after naming the file would leave it: the token line of a
	// stored file, and one of a file it never named.
	exp := time.Now().Add(time.Minute).Unix()
	f, err := os.OpenFile(tf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s %s %d\n", hex.EncodeToString([]byte("never-named")), "group1/M00/00/00/fwAAAWVT8QCAAAAAAAAABQ0000001.txt", exp)
	f.Close()

	// The node restarts over the same store and token file.
	c2 := startWithTokenFile(t, dir, tf)
	again, err := sendUpload(t, c2, h("stored-before-kill"), chunk([]byte("hello")))
	if err != nil || again.GetFileId() != stored.GetFileId() {
		t.Errorf("retry after restart = %v, %v; want %s", again, err, stored.GetFileId())
	}
	fresh, err := sendUpload(t, c2, h("never-named"), chunk([]byte("hello")))
	if err != nil || fresh.GetFileId() == "group1/M00/00/00/fwAAAWVT8QCAAAAAAAAABQ0000001.txt" {
		t.Errorf("retry of a never-named file = %v, %v; want a new file", fresh, err)
	}
}
