package fastsrv

import (
	"io"
	"net/http"
	"testing"
)

// TestBodies: a file body of at most CopyBelow bytes is counted as copied, a larger one as
// sent with sendfile, a HEAD or a body written with Write in neither.
func TestBodies(t *testing.T) {
	srv, addr := start(t, Config{Handler: testHandler(t)})
	get := func(method, path string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d, %v", method, path, resp.StatusCode, err)
		}
	}
	for _, tc := range []struct {
		method, path string
		want         BodyCounts
	}{
		{"GET", "/small", BodyCounts{Copied: 1}},               // 5 bytes
		{"GET", "/small", BodyCounts{Copied: 2}},               // again, on a kept-alive connection
		{"GET", "/file", BodyCounts{Copied: 2, Sendfile: 1}},   // 100 KiB
		{"HEAD", "/file", BodyCounts{Copied: 2, Sendfile: 1}},  // no body
		{"GET", "/echo", BodyCounts{Copied: 2, Sendfile: 1}},   // Write, not a file
		{"GET", "/file", BodyCounts{Copied: 2, Sendfile: 2}},   // 100 KiB again
		{"GET", "/stream", BodyCounts{Copied: 2, Sendfile: 2}}, // chunked writes
	} {
		get(tc.method, tc.path)
		if got := srv.Bodies(); got != tc.want {
			t.Fatalf("after %s %s: %+v, want %+v", tc.method, tc.path, got, tc.want)
		}
	}

	// Negative CopyBelow: every file body goes with sendfile, however small.
	all, addr2 := start(t, Config{Handler: testHandler(t), CopyBelow: -1})
	addr = addr2
	get("GET", "/small")
	if got, want := all.Bodies(), (BodyCounts{Sendfile: 1}); got != want {
		t.Fatalf("CopyBelow -1: %+v, want %+v", got, want)
	}
}
