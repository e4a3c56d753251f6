package storagesvc_test

import (
	"bytes"
	"testing"

	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
	"github.com/depotfs/depot/proto/storagepb"
)

// TestUploadCounts: stored files and their bytes, failed calls, and a token retry in neither.
func TestUploadCounts(t *testing.T) {
	srv := svctest.Start(t)
	c := rawClient(t, srv)
	big := bytes.Repeat([]byte("x"), 300<<10) // two chunks
	tok := []byte("0123456789abcdef")
	steps := []struct {
		name string
		msgs []*storagepb.UploadRequest
		ok   bool
		want storagesvc.UploadCounts
	}{
		{"small", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{Ext: "txt", StorePathIndex: -1, Size: 5}), chunk([]byte("hello"))},
			true, storagesvc.UploadCounts{Stored: 1, Bytes: 5}},
		{"two chunks, unknown size", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{Ext: "bin", StorePathIndex: -1, Size: -1}), chunk(big[:200<<10]), chunk(big[200<<10:])},
			true, storagesvc.UploadCounts{Stored: 2, Bytes: 5 + 300<<10}},
		{"bad size", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: -2})},
			false, storagesvc.UploadCounts{Stored: 2, Bytes: 5 + 300<<10, Failed: 1}},
		{"shorter than announced", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: 10}), chunk([]byte("abc"))},
			false, storagesvc.UploadCounts{Stored: 2, Bytes: 5 + 300<<10, Failed: 2}},
		{"with a token", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: 3, UploadToken: tok}), chunk([]byte("abc"))},
			true, storagesvc.UploadCounts{Stored: 3, Bytes: 8 + 300<<10, Failed: 2}},
		{"the token again", []*storagepb.UploadRequest{header(&storagepb.UploadHeader{StorePathIndex: -1, Size: 3, UploadToken: tok}), chunk([]byte("abc"))},
			true, storagesvc.UploadCounts{Stored: 3, Bytes: 8 + 300<<10, Failed: 2}},
	}
	for _, s := range steps {
		_, err := sendUpload(t, c, s.msgs...)
		if (err == nil) != s.ok {
			t.Fatalf("%s: err %v, want ok %v", s.name, err, s.ok)
		}
		if got := srv.Service.Uploads(); got != s.want {
			t.Fatalf("after %s: %+v, want %+v", s.name, got, s.want)
		}
	}
}
