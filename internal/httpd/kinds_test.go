package httpd

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/token"
)

// TestAppenderAndSlave: sizes and Last-Modified of files whose ID carries no size come from
// the disk; appended bytes are served at once.
func TestAppenderAndSlave(t *testing.T) {
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	ctx := context.Background()
	app, err := st.Upload(ctx, strings.NewReader("first,"), disk.UploadOptions{Ext: "log", PathIndex: -1, Size: 6, Appender: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ctx, app, strings.NewReader("second"), 6); err != nil {
		t.Fatal(err)
	}
	master, err := st.Upload(ctx, strings.NewReader("master"), disk.UploadOptions{Ext: "jpg", PathIndex: -1, Size: 6})
	if err != nil {
		t.Fatal(err)
	}
	slave, err := st.UploadSlave(ctx, master, "_150x150", "", strings.NewReader("thumbnail"), 9)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := startServer(t, Config{
		Groups:           []Group{{Name: "group1", Store: st, StorePathCount: 1}},
		URLHaveGroupName: true,
		IsSelf:           func(fileid.ID) bool { return true },
	})
	for _, tc := range []struct {
		id    fileid.ID
		body  string
		ctype string
	}{
		{app, "first,second", "application/octet-stream"},
		{slave, "thumbnail", "image/jpeg"},
	} {
		t.Run(tc.id.Kind().String(), func(t *testing.T) {
			info, err := st.Stat(tc.id)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := fetch(t, "GET", srv.URL+"/"+tc.id.String(), nil)
			if resp.StatusCode != 200 || string(body) != tc.body {
				t.Fatalf("status %d body %q, want %q", resp.StatusCode, body, tc.body)
			}
			lastMod := info.ModTime.UTC().Format(http.TimeFormat)
			wantHeader(t, resp, "Last-Modified", lastMod)
			wantHeader(t, resp, "ETag", "")
			wantHeader(t, resp, "Content-Type", tc.ctype)
			resp, _ = fetch(t, "GET", srv.URL+"/"+tc.id.String(), map[string]string{"If-Modified-Since": lastMod})
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-Modified-Since: status %d, want 304", resp.StatusCode)
			}
			resp, body = fetch(t, "GET", srv.URL+"/"+tc.id.String(), map[string]string{"Range": "bytes=-3"})
			if resp.StatusCode != 206 || string(body) != tc.body[len(tc.body)-3:] {
				t.Errorf("Range: status %d body %q", resp.StatusCode, body)
			}
		})
	}
}

// TestSeveralGroups: group_count sections, each group with its own store.
func TestSeveralGroups(t *testing.T) {
	s1 := openStore(t, "", [4]byte{127, 0, 0, 1})
	dir2 := t.TempDir()
	s2, err := disk.Open(disk.Options{Group: "group2", Paths: []disk.PathConfig{{Dir: dir2}, {Dir: t.TempDir()}},
		SubdirCount: 2, Statfs: bigFree, Source: [4]byte{127, 0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	id1, err := s1.Upload(context.Background(), strings.NewReader("one"), disk.UploadOptions{Ext: "txt", PathIndex: -1, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s2.Upload(context.Background(), strings.NewReader("two"), disk.UploadOptions{Ext: "txt", PathIndex: 1, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Groups: []Group{
			{Name: "group1", Store: s1, StorePathCount: 1},
			{Name: "group2", Store: s2, StorePathCount: 2},
		},
		URLHaveGroupName: true,
		ResponseMode:     Redirect,
		IsSelf:           func(fileid.ID) bool { return true },
	}
	srv, _ := startServer(t, cfg)
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/" + id1.String(), 200, "one"},
		{"/" + id2.String(), 200, "two"},
		{"/group2/" + id1.Remote(), 404, ""},                                   // not in group2's store
		{"/group1/" + id2.Remote(), 400, ""},                                   // M01 but group1 has one store path
		{"/group3/" + id1.Remote(), 302, ""},                                   // a group not served here: to its source
		{"/group1/" + strings.Replace(id1.Remote(), "M00", "m00", 1), 400, ""}, // lower-case M
	} {
		resp, body := fetch(t, "GET", srv.URL+tc.path, nil)
		if resp.StatusCode != tc.status || (tc.body != "" && string(body) != tc.body) {
			t.Errorf("%s: status %d body %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	cfg.URLHaveGroupName = false
	if _, err := New(cfg); err == nil {
		t.Error("New accepted two groups without url_have_group_name")
	}
}

// TestProxyRequest checks what the source node receives: same path, original query with
// redirect=1, end-to-end headers only, and the client's conditionals and Range.
func TestProxyRequest(t *testing.T) {
	var got *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Header().Set("Connection", "X-Upstream-Hop")
		w.Header().Set("X-Upstream-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-End", "kept")
		w.WriteHeader(http.StatusPartialContent)
		w.Write([]byte("abc"))
	}))
	defer upstream.Close()
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	srv, _ := startServer(t, Config{
		Groups:           []Group{{Name: "group1", Store: st, StorePathCount: 1}},
		URLHaveGroupName: true,
		SourceURL:        func(fileid.ID) (string, bool) { return upstream.URL, true },
		Now:              fixtureNow,
		Token:            TokenConfig{Check: true, Secret: secret, TTL: 900 * time.Second},
	})
	q := "token=" + goodToken + "&ts=1795426279&filename=a.bin"
	resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?"+q, map[string]string{
		"Range": "bytes=0-2", "If-None-Match": `"x"`, "Connection": "X-Client-Hop", "X-Client-Hop": "1",
		"Proxy-Authorization": "secret", "Cookie": "c=1", "Authorization": "Basic eDp5",
	})
	if resp.StatusCode != 206 || !bytes.Equal(body, []byte("abc")) {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	wantHeader(t, resp, "X-End", "kept")
	wantHeader(t, resp, "X-Upstream-Hop", "")
	wantHeader(t, resp, "Keep-Alive", "")
	if got == nil {
		t.Fatal("upstream saw no request")
	}
	if got.URL.Path != "/"+idBin || got.URL.RawQuery != q+"&redirect=1" {
		t.Errorf("upstream got %s?%s", got.URL.Path, got.URL.RawQuery)
	}
	// Credentials are not sent to a node the client's file ID names.
	for k, want := range map[string]string{"Range": "bytes=0-2", "If-None-Match": `"x"`, "Cookie": "", "Authorization": "",
		"X-Client-Hop": "", "Proxy-Authorization": "", "X-Forwarded-For": "127.0.0.1"} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("upstream header %s = %q, want %q", k, v, want)
		}
	}
}

// TestProxyBypass: a request let through by the bypass header is proxied without that header
// (the source is named by the client's file ID) and signed for the source instead.
func TestProxyBypass(t *testing.T) {
	var got *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		w.Write([]byte("abc"))
	}))
	defer upstream.Close()
	st := openStore(t, "", [4]byte{127, 0, 0, 1})
	srv, _ := startServer(t, Config{
		Groups:           []Group{{Name: "group1", Store: st, StorePathCount: 1}},
		URLHaveGroupName: true,
		SourceURL:        func(fileid.ID) (string, bool) { return upstream.URL, true },
		Now:              fixtureNow,
		Token: TokenConfig{Check: true, Secret: secret, TTL: 900 * time.Second,
			BypassHeader: "X-Depot-Internal", BypassValue: "let-me-in"},
	})
	resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?x=1", map[string]string{"X-Depot-Internal": "let-me-in"})
	if resp.StatusCode != 200 || string(body) != "abc" || got == nil {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if v := got.Header.Get("X-Depot-Internal"); v != "" {
		t.Errorf("bypass header forwarded to the source: %q", v)
	}
	q, err := url.ParseQuery(got.URL.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(q.Get("ts"), 10, 64)
	remote := strings.TrimPrefix(idBin, "group1/")
	if err := token.Verify(secret, remote, q.Get("token"), ts, fixtureNow(), token.Policy{TTL: time.Minute}); err != nil || q.Get("x") != "1" || q.Get("redirect") != "1" {
		t.Errorf("upstream query %q: token check %v", got.URL.RawQuery, err)
	}
	if _, err := New(Config{Groups: []Group{{Name: "group1", Store: st, StorePathCount: 1}},
		Token: TokenConfig{BypassHeader: "X-Depot-Internal"}}); err == nil {
		t.Error("New accepted a bypass header with an empty value")
	}
}

// TestTrunkHeaderMismatch: a trunk slot whose header does not match the name is not served
// (FastDFS's rule), and a slot freed later is gone.
func TestTrunkHeaderMismatch(t *testing.T) {
	cfg, dir := fixtureConfig(t)
	path := dir + "/data/00/00/000001"
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Slot 2 (offset 1024): flip a byte of the stored crc32; slot 3 (offset 1536): mark free.
	if _, err := f.WriteAt([]byte{0xff}, 1024+9); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0}, 1536); err != nil {
		t.Fatal(err)
	}
	f.Close()
	srv, _ := startServer(t, cfg)
	for id, want := range map[string]int{idTr1: 200, idTr2: 404, idTr3: 404} {
		if resp, _ := fetch(t, "GET", srv.URL+"/"+id, nil); resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", id, resp.StatusCode, want)
		}
	}
}

// TestContentTypeVectors: the types vectors.md lists for FastDFS behind nginx.
func TestContentTypeVectors(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for name, want := range map[string]string{
		"a.exe": "application/octet-stream", "a.webp": "image/webp", "a.txt": "text/plain",
		"a": "application/octet-stream", "a.unknownext": "application/octet-stream",
		"a.JPG": "image/jpeg", "x_big.jpeg": "image/jpeg", "a.mp4": "video/mp4",
	} {
		if got := h.contentType(name)[0]; got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
