package storagesvc_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
	"github.com/depotfs/depot/proto/storagepb"
)

func rawClient(t *testing.T, srv *svctest.Server) storagepb.StorageServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", srv.Addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return storagepb.NewStorageServiceClient(conn)
}

func header(h *storagepb.UploadHeader) *storagepb.UploadRequest {
	return &storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: h}}
}

func chunk(b []byte) *storagepb.UploadRequest {
	return &storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: b}}
}

// sendUpload sends msgs on one Upload call and returns the response or error.
func sendUpload(t *testing.T, c storagepb.StorageServiceClient, msgs ...*storagepb.UploadRequest) (*storagepb.UploadResponse, error) {
	t.Helper()
	stream, err := c.Upload(t.Context())
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			break // the server ended the call; CloseAndRecv has its status
		}
	}
	return stream.CloseAndRecv()
}

func TestUploadProtocol(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	normal := &storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: -1}
	tests := []struct {
		name string
		msgs []*storagepb.UploadRequest
		want codes.Code
	}{
		{"ok", []*storagepb.UploadRequest{header(normal), chunk([]byte("hi"))}, codes.OK},
		{"no messages", nil, codes.InvalidArgument},
		{"chunk first", []*storagepb.UploadRequest{chunk([]byte("hi"))}, codes.InvalidArgument},
		{"two headers", []*storagepb.UploadRequest{header(normal), chunk([]byte("a")), header(normal)}, codes.InvalidArgument},
		{"size below -1", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: -2})}, codes.InvalidArgument},
		{"trunk kind", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{Kind: storagepb.FileKind_FILE_KIND_TRUNK, StorePathIndex: -1, Size: -1})}, codes.InvalidArgument},
		{"store path index -2", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -2, Size: -1}), chunk([]byte("data"))}, codes.InvalidArgument},
		{"missing store path", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: 7, Size: -1})}, codes.InvalidArgument},
		{"slave of malformed master", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{Kind: storagepb.FileKind_FILE_KIND_SLAVE, MasterFileId: "group1/x", Prefix: "_s", Size: -1})}, codes.InvalidArgument},
		{"bad metadata", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: -1, Metadata: map[string]string{"": "x"}}), chunk([]byte("data"))}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Files(t)
			resp, err := sendUpload(t, c, tt.msgs...)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code %v (%v); want %v", got, err, tt.want)
			}
			if tt.want != codes.OK {
				if after := srv.Files(t); !slices.Equal(before, after) {
					t.Errorf("failed upload changed the store:\nbefore %v\nafter  %v", before, after)
				}
				return
			}
			if !strings.HasPrefix(resp.GetFileId(), svctest.Group+"/M00/") {
				t.Errorf("file id %q: want %s/M00/...", resp.GetFileId(), svctest.Group)
			}
		})
	}
}

func TestDownloadChunks(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*storagesvc.ChunkSize+100)/16)
	resp, err := sendUpload(t, c, header(&storagepb.UploadHeader{StorePathIndex: -1, Size: int64(len(data))}), chunk(data[:1000]), chunk(data[1000:]))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	stream, err := c.Download(t.Context(), &storagepb.DownloadRequest{FileId: resp.GetFileId()})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	var got []byte
	var sizes []int
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		got = append(got, m.GetData()...)
		sizes = append(sizes, len(m.GetData()))
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got), len(data))
	}
	if want := []int{storagesvc.ChunkSize, storagesvc.ChunkSize, len(data) - 2*storagesvc.ChunkSize}; !slices.Equal(sizes, want) {
		t.Errorf("chunk sizes %v; want %v", sizes, want)
	}
}

func TestFileInfoFields(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	resp, err := sendUpload(t, c, header(&storagepb.UploadHeader{Ext: "bin", StorePathIndex: 0, Size: 4}), chunk([]byte("data")))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	fi, err := c.FileInfo(t.Context(), &storagepb.FileInfoRequest{FileId: resp.GetFileId()})
	if err != nil {
		t.Fatalf("FileInfo(%s): %v", resp.GetFileId(), err)
	}
	if fi.GetSize() != 4 || fi.GetKind() != storagepb.FileKind_FILE_KIND_NORMAL || fi.GetSourceIp() != "127.0.0.1" ||
		fi.GetCrc32() != 0xadf3f363 || fi.GetCreateTime() == 0 || fi.GetTrunk() != nil {
		t.Errorf("FileInfo = %v; want size 4, normal, 127.0.0.1, crc32 adf3f363, a create time, no trunk", fi)
	}
}

func TestUploadTokenRetryStoresOnce(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	tok := []byte("0123456789abcdef")
	h := &storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: 5, UploadToken: tok}
	first, err := sendUpload(t, c, header(h), chunk([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Files(t)
	again, err := sendUpload(t, c, header(h), chunk([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if again.GetFileId() != first.GetFileId() {
		t.Errorf("retry with the same token = %q; want %q", again.GetFileId(), first.GetFileId())
	}
	if after := srv.Files(t); !slices.Equal(before, after) {
		t.Errorf("files after the retry = %v; want %v", after, before)
	}
	// A different token is a different upload.
	h2 := &storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: 5, UploadToken: []byte("fedcba9876543210")}
	other, err := sendUpload(t, c, header(h2), chunk([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if other.GetFileId() == first.GetFileId() {
		t.Error("a new token returned the old file ID")
	}
	// A failed upload (short stream) does not poison its token.
	h3 := &storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: 5, UploadToken: []byte("short-then-full!")}
	if _, err := sendUpload(t, c, header(h3), chunk([]byte("he"))); err == nil {
		t.Fatal("short upload succeeded")
	}
	if r, err := sendUpload(t, c, header(h3), chunk([]byte("hello"))); err != nil || r.GetFileId() == "" {
		t.Errorf("retry after a failed upload = %v, %v", r, err)
	}
}

// TestMetadataSizeBounded: merging metadata into a file again and again stops at
// disk.MaxMetaSize with InvalidArgument, and what is stored stays readable over gRPC.
func TestMetadataSizeBounded(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	resp, err := sendUpload(t, c, header(&storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: -1}), chunk([]byte("data")))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetFileId()
	val := strings.Repeat("v", disk.MaxMetaValLen)
	refused := false
	for i := 0; i < 2*disk.MaxMetaSize/disk.MaxMetaValLen; i++ {
		md := map[string]string{fmt.Sprintf("key%05d", i): val}
		_, err := c.SetMetadata(t.Context(), &storagepb.SetMetadataRequest{FileId: id, Metadata: md, Merge: true})
		if status.Code(err) == codes.InvalidArgument {
			refused = true
			if !strings.Contains(err.Error(), "limit") {
				t.Errorf("refusal %q does not name the limit", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("merge %d: %v", i, err)
		}
	}
	if !refused {
		t.Fatalf("merges never refused past %d bytes", disk.MaxMetaSize)
	}
	got, err := c.GetMetadata(t.Context(), &storagepb.GetMetadataRequest{FileId: id})
	if err != nil {
		t.Fatalf("GetMetadata after the refused merge: %v", err)
	}
	n := 0
	for k, v := range got.GetMetadata() {
		n += len(k) + len(v) + 2
	}
	if n > disk.MaxMetaSize || len(got.GetMetadata()) == 0 {
		t.Errorf("stored metadata %d records, about %d bytes; limit %d", len(got.GetMetadata()), n, disk.MaxMetaSize)
	}
	// An upload carrying metadata over the limit is refused and stores nothing.
	big := map[string]string{}
	for i := 0; i < 2*disk.MaxMetaSize/disk.MaxMetaValLen; i++ {
		big[fmt.Sprintf("k%05d", i)] = val
	}
	before := srv.Files(t)
	if _, err := sendUpload(t, c, header(&storagepb.UploadHeader{StorePathIndex: -1, Size: -1, Metadata: big}), chunk([]byte("data"))); status.Code(err) != codes.InvalidArgument {
		t.Errorf("upload with %d bytes of metadata = %v, want InvalidArgument", len(big)*disk.MaxMetaValLen, err)
	}
	if after := srv.Files(t); !slices.Equal(before, after) {
		t.Errorf("refused upload changed the store:\nbefore %v\nafter  %v", before, after)
	}
}

// TestCancelledUploadLeavesNothing: a client that sends a whole upload and cancels its call
// before ending its side saw the upload fail, so no file may be stored for it, nor a scratch
// file left: the server writes the body as it comes and waits for the end of the stream, which
// never comes.
//
// (A client that also ends its side, CloseSend, races its cancel with the answer: the server
// may have stored the file and answered before the cancel arrives, and the client still sees
// Canceled. That holds even for CloseSend after cancel, which can put the end of the stream on
// the wire first. The server narrows the window, removing a file whose call is cancelled when
// the store returns, but cannot close it; the test once used CloseAndRecv and failed now and
// then in CI.)
func TestCancelledUploadLeavesNothing(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	before := srv.Files(t)
	for i := range 20 {
		ctx, cancel := context.WithCancel(t.Context())
		stream, err := c.Upload(ctx)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(fmt.Sprintf("cancelled upload %d", i))
		stream.Send(header(&storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: int64(len(body))}))
		stream.Send(chunk(body))
		cancel()
		// RecvMsg, not CloseAndRecv: CloseSend on a cancelled stream can still put the end
		// of the stream on the wire ahead of the cancel, and the server then rightly stores
		// the file.
		if err := stream.RecvMsg(new(storagepb.UploadResponse)); status.Code(err) != codes.Canceled {
			t.Fatalf("upload %d: RecvMsg after cancel = %v, want Canceled", i, err)
		}
	}
	// Stop waits for every handler to return, however long the server's fsyncs take on a
	// loaded machine; only then is the store's content final.
	srv.Stop()
	if after := srv.Files(t); !slices.Equal(before, after) {
		t.Fatalf("cancelled uploads left files:\nbefore %v\nafter  %v", before, after)
	}
	if got := srv.Service.Uploads(); got.Stored != 0 || got.Failed != 20 {
		t.Errorf("after 20 cancelled uploads the counters say %+v, want 0 stored and 20 failed", got)
	}
}

func TestStalledUploadTimesOut(t *testing.T) {
	const idle = 300 * time.Millisecond
	var stalled atomic.Int32
	srv := svctest.StartWith(t, grpc.ChainStreamInterceptor(storagesvc.IdleRecv(idle, func(string) { stalled.Add(1) })))
	c := rawClient(t, srv)
	before := srv.Files(t)

	// A slow but steady sender (a message every idle/3, 2*idle in all) is not cut.
	stream, err := c.Upload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(header(&storagepb.UploadHeader{Ext: "bin", StorePathIndex: -1, Size: -1}))
	for range 6 {
		time.Sleep(idle / 3)
		if err := stream.Send(chunk(bytes.Repeat([]byte("s"), 1024))); err != nil {
			t.Fatalf("steady sender cut: %v", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("steady upload: %v", err)
	}
	id, err := fileid.Parse(resp.GetFileId())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.Delete(id); err != nil {
		t.Fatal(err)
	}

	// Header and 64 KiB, then silence: the call fails and nothing stays on disk.
	stream, err = c.Upload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(header(&storagepb.UploadHeader{Ext: "bin", StorePathIndex: -1, Size: 1 << 20}))
	stream.Send(chunk(make([]byte, 64<<10)))
	time.Sleep(3 * idle) // longer than idle, with nothing sent
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("stalled upload: CloseAndRecv = %v, want DeadlineExceeded", err)
	}
	if stalled.Load() != 1 {
		t.Fatalf("stalled callback ran %d times, want 1", stalled.Load())
	}
	if after := srv.Files(t); !slices.Equal(before, after) {
		t.Fatalf("stalled upload left files:\nbefore %v\nafter  %v", before, after)
	}
}
