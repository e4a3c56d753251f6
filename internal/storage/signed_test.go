package storage_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
)

// TestNodeSignedURLs turns on the check and http.anti_steal.refuse_md5_token through
// mod_fastdfs.conf: an SDK signed URL (Client.SignedURLWith) is served with its file name, an
// md5 token URL is refused.
func TestNodeSignedURLs(t *testing.T) {
	ctx := t.Context()
	node := startNode(t, t.TempDir(), "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = s3cret\n"+
		"http.anti_steal.token_ttl = 600\nhttp.anti_steal.refuse_md5_token = true\n")
	c, err := client.New(client.Config{Storage: node.GRPCAddr(), Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	id, err := c.Upload(ctx, strings.NewReader("protected"), client.UploadOptions{Ext: "txt", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + node.HTTPAddr()
	if code, _, body := httpGet(t, http.MethodGet, c.SignedURL(base, id, time.Now())); code != http.StatusBadRequest {
		t.Fatalf("md5 token GET: status %d body %q, want 400", code, body)
	}
	signed, err := c.SignedURLWith(base, id, client.SignOptions{Expires: time.Now().Add(time.Minute), User: "alice", Filename: "notes.txt"})
	if err != nil {
		t.Fatal(err)
	}
	code, h, body := httpGet(t, http.MethodGet, signed)
	if code != http.StatusOK || string(body) != "protected" {
		t.Fatalf("signed GET %s: status %d body %q", signed, code, body)
	}
	if cd := h.Get("Content-Disposition"); cd != `attachment; filename="notes.txt"` {
		t.Errorf("Content-Disposition %q, want the signed file name", cd)
	}
	forged, err := client.SignedURLWith("wrong", base, id, client.SignOptions{Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, body := httpGet(t, http.MethodGet, forged); code != http.StatusBadRequest {
		t.Fatalf("forged signed GET: status %d body %q, want 400", code, body)
	}
}
