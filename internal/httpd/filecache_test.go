package httpd

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/depotfs/depot/internal/fileid"
)

// TestFileCacheServes: small trunk slices come from the file cache (a shared descriptor read
// at explicit offsets): whole, ranges (one and several) and HEAD return the slice's bytes, and
// a slice deleted from the store is 404 on the next GET while its neighbour still is served.
func TestFileCacheServes(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	srv, _ := startServer(t, cfg)
	want := fixtureBytes(t, idTr1)
	tests := []struct {
		name   string
		method string
		hdr    map[string]string
		status int
		body   []byte
	}{
		{"whole", http.MethodGet, nil, http.StatusOK, want},
		{"again, same descriptor", http.MethodGet, nil, http.StatusOK, want},
		{"one range", http.MethodGet, map[string]string{"Range": "bytes=10-19"}, http.StatusPartialContent, want[10:20]},
		{"head", http.MethodHead, nil, http.StatusOK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := fetch(t, tt.method, srv.URL+"/"+idTr1, tt.hdr)
			if resp.StatusCode != tt.status || !bytes.Equal(body, tt.body) {
				t.Fatalf("status %d, %d bytes; want %d, %d bytes", resp.StatusCode, len(body), tt.status, len(tt.body))
			}
		})
	}
	t.Run("two ranges", func(t *testing.T) {
		resp, body := fetch(t, http.MethodGet, srv.URL+"/"+idTr1, map[string]string{"Range": "bytes=0-3,100-103"})
		if resp.StatusCode != http.StatusPartialContent || !bytes.Contains(body, want[0:4]) || !bytes.Contains(body, want[100:104]) {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
	})

	id, err := fileid.Parse(idTr1)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Groups[0].Store.(interface{ Delete(fileid.ID) error }).Delete(id); err != nil {
		t.Fatal(err)
	}
	if resp, _ := fetch(t, http.MethodGet, srv.URL+"/"+idTr1, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted slice: status %d, want 404", resp.StatusCode)
	}
	if resp, body := fetch(t, http.MethodGet, srv.URL+"/"+idTr2, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, fixtureBytes(t, idTr2)) {
		t.Errorf("neighbour slice: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestFileCacheNormal: a small normal file comes from the file cache; a file replaced by a
// rename onto its name returns the new bytes on the next GET, and a deleted one is 404.
func TestFileCacheNormal(t *testing.T) {
	cfg, dir := fixtureConfig(t)
	srv, _ := startServer(t, cfg)
	want := fixtureBytes(t, idBin)
	for range 2 {
		if resp, body := fetch(t, http.MethodGet, srv.URL+"/"+idBin, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
		}
	}
	name := filepath.Join(dir, "data", idBin[len("group1/M00/"):])
	repl := bytes.Repeat([]byte("R"), len(want))
	if err := os.WriteFile(name+".new", repl, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(name+".new", name); err != nil {
		t.Fatal(err)
	}
	if resp, body := fetch(t, http.MethodGet, srv.URL+"/"+idBin, nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, repl) {
		t.Errorf("replaced file: status %d, body %.16q...; want the new bytes", resp.StatusCode, body)
	}
	id, err := fileid.Parse(idBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Groups[0].Store.(interface{ Delete(fileid.ID) error }).Delete(id); err != nil {
		t.Fatal(err)
	}
	if resp, _ := fetch(t, http.MethodGet, srv.URL+"/"+idBin, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted file: status %d, want 404", resp.StatusCode)
	}
}
