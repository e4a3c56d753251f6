package storage_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
)

// A node loaded from a FastDFS storage.conf serves FastDFS's protocol on its gRPC port: a
// native upload is journaled in the binlog and served over HTTP; the SDK (gRPC) reads it on
// the same port; an idle FastDFS connection does not hold a stop up.
func TestNodeServesNativeOnGRPCPort(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, dir, "")
	if node.NativeAddr() != node.GRPCAddr() {
		t.Fatalf("native on %s, gRPC on %s", node.NativeAddr(), node.GRPCAddr())
	}
	c := fdfstest.Dial(t, node.NativeAddr())
	data := bytes.Repeat([]byte("native "), 300)
	r := c.Call(11, 0, []byte{0xFF}, fdfstest.I64(int64(len(data))), fdfstest.Pad("txt", 6), data)
	if r.Status != 0 {
		t.Fatalf("upload: status %d", r.Status)
	}
	id := "group1/" + string(r.Body[16:])

	code, _, got := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+id)
	if code != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET %s: %d, %d bytes", id, code, len(got))
	}
	var sdk bytes.Buffer
	if _, err := dial(t, node).Download(t.Context(), id, &sdk, 0, 0); err != nil || !bytes.Equal(sdk.Bytes(), data) {
		t.Fatalf("SDK download on the shared port: %v, %d bytes", err, sdk.Len())
	}
	recs := readBinlog(t, dir)
	if len(recs) != 1 || recs[0].Op != binlog.Create || "group1/"+recs[0].Name != id {
		t.Fatalf("binlog %+v, want one create of %s", recs, id)
	}

	// An idle FastDFS client (a connection pool) does not make the stop wait stop_timeout.
	idle := fdfstest.Dial(t, node.NativeAddr())
	if r := idle.Call(111, 0); r.Status != 0 {
		t.Fatalf("active test: %d", r.Status)
	}
	start := time.Now()
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= node.StopTimeout()/2 {
		t.Fatalf("Close took %v with an idle FastDFS connection (stop_timeout %v)", d, node.StopTimeout())
	}
	idle.ExpectClosed(5 * time.Second)
}

// readBinlog returns the records of the node's binlog (base_path/data/sync).
func readBinlog(t *testing.T, base string) []binlog.Record {
	t.Helper()
	r := binlog.NewReader(filepath.Join(base, "data", "sync"), binlog.Position{}, nil)
	defer r.Close()
	var out []binlog.Record
	for {
		rec, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}
