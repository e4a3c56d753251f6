package httpd

import (
	"context"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
)

const fixtureDir = "../../testdata/fastdfs-store"

// fixtureNow is a clock pinned just after the fixture files were written.
func fixtureNow() time.Time { return time.Unix(1795426279+60, 0) }

// Fixture IDs (vectors.md).
const (
	idBin   = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	idTxt   = "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt"
	idSlave = "group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt"
	idNoExt = "group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838"
	idTr1   = "group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin"
	idTr2   = "group1/M00/00/00/fwAAAWsECDyIadAhAAABLJHhcS0AAAAAQAABAAAAAIA376.bin"
	idTr3   = "group1/M00/00/00/fwAAAWsECDyITazYAAGGoGPXqrEAAAAAQAABgAAAYcA389.jpg"
	// idMissing is well formed (same fields as idBin) but not in the store.
	idMissing = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI008.bin"
)

func bigFree(string) (uint64, uint64, error) { return 1 << 40, 1 << 39, nil }

// copyFixture copies the FastDFS store path fixture into a temp dir.
func copyFixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openStore opens a real disk.Store on dir (a fresh temp dir when dir is "").
func openStore(t testing.TB, dir string, source [4]byte) *disk.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := disk.Open(disk.Options{
		Group:       "group1",
		Paths:       []disk.PathConfig{{Dir: dir}},
		SubdirCount: 2,
		Statfs:      bigFree,
		Source:      source,
		StatFile:    filepath.Join(t.TempDir(), "stat.dat"),
	})
	if err != nil {
		t.Fatalf("disk.Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// isLoopback1 treats the fixture's source 127.0.0.1 as this node.
func isLoopback1(id fileid.ID) bool { return id.SourceIPv4().String() == "127.0.0.1" }

// fixtureConfig serves a copy of the fixture store (in dir) as group1 with URLs carrying the
// group.
func fixtureConfig(t testing.TB) (cfg Config, dir string) {
	t.Helper()
	dir = copyFixture(t)
	return Config{
		Groups:           []Group{{Name: "group1", Store: openStore(t, dir, [4]byte{127, 0, 0, 1}), StorePathCount: 1}},
		URLHaveGroupName: true,
		MultiRange:       true,
		IsSelf:           isLoopback1,
		Now:              fixtureNow,
	}, dir
}

// netHTTP runs the tests' servers on net/http instead of fastsrv (the storage node's server):
// go test ./internal/httpd/ -nethttp.
var netHTTP = flag.Bool("nethttp", false, "serve the tests with net/http instead of fastsrv")

// testServer is a running loopback server.
type testServer struct {
	URL      string
	shutdown func(context.Context) error
}

// Close stops the server after the requests in flight have finished (their handlers returned).
func (s *testServer) Close() { s.shutdown(context.Background()) }

// serveOn serves h on ln with the server the storage node uses (fastsrv), or net/http with
// -nethttp, until the test ends.
func serveOn(t testing.TB, ln net.Listener, h http.Handler) *testServer {
	t.Helper()
	ts := &testServer{URL: "http://" + ln.Addr().String()}
	if *netHTTP {
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		ts.shutdown = srv.Shutdown
	} else {
		srv := fastsrv.New(fastsrv.Config{Handler: h})
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		ts.shutdown = srv.Shutdown
	}
	return ts
}

// serveHandler serves h on a fresh 127.0.0.1 listener.
func serveHandler(t testing.TB, h http.Handler) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, h)
}

// startServer starts a real loopback HTTP server running a Handler for cfg.
func startServer(t testing.TB, cfg Config) (*testServer, *Handler) {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return serveHandler(t, h), h
}

// fetch sends one request and returns the response with its body read.
func fetch(t testing.TB, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, body
}

// fixtureBytes returns the content of a fixture ID read straight from the fixture files.
func fixtureBytes(t testing.TB, id string) []byte {
	t.Helper()
	fid, err := fileid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	if slot, ok := fid.Trunk(); ok {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "data/00/00/000001"))
		if err != nil {
			t.Fatal(err)
		}
		size, _ := fid.Size()
		off := int64(slot.Offset) + 24
		return b[off : off+size]
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, "data", fid.RelPath()))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantHeader fails the test when resp's header key is not want ("" = absent).
func wantHeader(t testing.TB, resp *http.Response, key, want string) {
	t.Helper()
	got := strings.Join(resp.Header.Values(key), ", ")
	if got != want {
		t.Errorf("%s: got %q, want %q", key, got, want)
	}
}
