package httpd

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// countingListener counts accepted connections; the conns themselves are not wrapped.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// node is one storage's download server on its own loopback address.
type node struct {
	store *disk.Store
	h     *Handler
	ln    *countingListener
	url   string
}

// twoNodes starts a source node on 127.0.0.2 and a node on 127.0.0.1 listening on the same
// port, both serving group1 from their own real disk.Store. tweak adjusts the first node's
// config (the one that misses).
func twoNodes(t *testing.T, mode Mode, tweak func(*Config)) (here, source *node) {
	t.Helper()
	return twoNodesOn(t, mode, tweak, nil)
}

// twoNodesOn is twoNodes serving HTTPS with tlsCfg (nil = plain HTTP).
func twoNodesOn(t *testing.T, mode Mode, tweak func(*Config), tlsCfg *tls.Config) (here, source *node) {
	t.Helper()
	var ln1, ln2 net.Listener
	for try := 0; ; try++ {
		var err error
		ln2, err = net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("127.0.0.2 not usable: %v", err)
		}
		port := strconv.Itoa(ln2.Addr().(*net.TCPAddr).Port)
		if ln1, err = net.Listen("tcp", "127.0.0.1:"+port); err == nil {
			break
		}
		ln2.Close()
		if try == 20 {
			t.Fatalf("no port free on both 127.0.0.1 and 127.0.0.2: %v", err)
		}
	}
	mk := func(ln net.Listener, src [4]byte, tweak func(*Config)) *node {
		n := &node{store: openStore(t, "", src), ln: &countingListener{Listener: ln}}
		cfg := Config{
			Groups:           []Group{{Name: "group1", Store: n.store, StorePathCount: 1}},
			URLHaveGroupName: true,
			ResponseMode:     mode,
			IsSelf:           func(id fileid.ID) bool { return id.SourceBytes() == src },
		}
		if tweak != nil {
			tweak(&cfg)
		}
		h, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n.h = h
		t.Cleanup(func() { h.Close() })
		if tlsCfg != nil {
			serveTLSOn(t, n.ln, h, tlsCfg)
			n.url = "https://" + ln.Addr().String()
			return n
		}
		serveOn(t, n.ln, h)
		n.url = "http://" + ln.Addr().String()
		return n
	}
	source = mk(ln2, [4]byte{127, 0, 0, 2}, nil)
	here = mk(ln1, [4]byte{127, 0, 0, 1}, tweak)
	return here, source
}

// upload stores data on n and returns the file ID.
func (n *node) upload(t *testing.T, r io.Reader, size int64, ext string) fileid.ID {
	t.Helper()
	id, err := n.store.Upload(context.Background(), r, disk.UploadOptions{Ext: ext, PathIndex: -1, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRedirect(t *testing.T) {
	here, source := twoNodes(t, Redirect, nil)
	data := []byte("replicated later\n")
	id := source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
	port := here.url[strings.LastIndexByte(here.url, ':'):]

	resp, body := fetch(t, "GET", here.url+"/"+id.String()+"?a=1&b=%2F", nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d body %q, want 302", resp.StatusCode, body)
	}
	want := "http://127.0.0.2" + port + "/" + id.String() + "?a=1&b=%2F&redirect=1"
	wantHeader(t, resp, "Location", want)
	if resp.ContentLength != int64(len(body)) || resp.TransferEncoding != nil {
		t.Errorf("302 not well formed: Content-Length %d, body %d, TE %v", resp.ContentLength, len(body), resp.TransferEncoding)
	}
	resp, body = fetch(t, "GET", want, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("following the redirect: status %d body %q", resp.StatusCode, body)
	}
	// A client that follows redirects gets the bytes in one call.
	r2, err := http.Get(here.url + "/" + id.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Errorf("http.Get through the redirect: %d %q", r2.StatusCode, got)
	}
	// Loop guard: a request that already went through a redirect and misses is 400.
	missing := here.upload(t, strings.NewReader("x"), 1, "txt") // exists on here only
	resp, _ = fetch(t, "GET", source.url+"/"+missing.String()+"?redirect=1", nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("redirect=1 on a miss: status %d, want 400", resp.StatusCode)
	}
	// A file of this node (IsSelf) that is missing is 404, not a redirect to itself.
	other := []byte(id.String())
	other[len(other)-5] = '0' + (other[len(other)-5]-'0'+1)%10 // another pad digit: same fields, no file
	resp, _ = fetch(t, "GET", source.url+"/"+string(other), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("own file missing: status %d, want 404", resp.StatusCode)
	}
}

func TestNotHereTooOld(t *testing.T) {
	here, source := twoNodes(t, Redirect, func(c *Config) {
		c.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	})
	id := source.upload(t, strings.NewReader("old"), 3, "txt")
	resp, _ := fetch(t, "GET", here.url+"/"+id.String(), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404 past storage_sync_file_max_delay", resp.StatusCode)
	}
}

func TestProxy(t *testing.T) {
	here, source := twoNodes(t, Proxy, nil)
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	id := source.upload(t, bytes.NewReader(data), int64(len(data)), "bin")
	u := here.url + "/" + id.String() + "?x=1"
	etag := `"` + strings.TrimPrefix(id.ETag(), `"`)

	rows := []struct {
		name, method string
		hdr          map[string]string
		status       int
		body         []byte
	}{
		{"get", "GET", nil, 200, data},
		{"range", "GET", map[string]string{"Range": "bytes=10-19"}, 206, data[10:20]},
		{"head", "HEAD", nil, 200, []byte{}},
		{"if-none-match", "GET", map[string]string{"If-None-Match": etag}, 304, []byte{}},
		{"hop-by-hop dropped", "GET", map[string]string{"Connection": "X-Secret", "X-Secret": "1"}, 200, data},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			resp, body := fetch(t, r.method, u, r.hdr)
			if resp.StatusCode != r.status || !bytes.Equal(body, r.body) {
				t.Fatalf("status %d, %d bytes; want %d, %d bytes", resp.StatusCode, len(body), r.status, len(r.body))
			}
			if r.status == 200 {
				wantHeader(t, resp, "Content-Length", strconv.Itoa(len(data)))
				wantHeader(t, resp, "ETag", etag)
			}
		})
	}

	t.Run("keep-alive pool", func(t *testing.T) {
		before := source.ln.accepted.Load()
		for range 100 {
			resp, body := fetch(t, "GET", u, nil)
			if resp.StatusCode != 200 || len(body) != len(data) {
				t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
			}
		}
		if n := source.ln.accepted.Load() - before; n > 2 {
			t.Errorf("100 proxied requests opened %d upstream connections, want <= 2", n)
		}
	})
}

func TestProxyFailures(t *testing.T) {
	// A node that accepts connections and never answers.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := mute.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	// A port where nothing listens.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String()
	dead.Close()

	for _, tc := range []struct {
		name, base string
		status     int
	}{
		{"source down", deadURL, http.StatusBadGateway},
		{"source mute", "http://" + mute.Addr().String(), http.StatusGatewayTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			here, source := twoNodes(t, Proxy, func(c *Config) {
				c.ProxyTimeout = 200 * time.Millisecond
				c.SourceURL = func(fileid.ID) (string, bool) { return tc.base, true }
			})
			id := source.upload(t, strings.NewReader("abc"), 3, "txt")
			resp, body := fetch(t, "GET", here.url+"/"+id.String(), nil)
			if resp.StatusCode != tc.status || len(body) < 5 {
				t.Errorf("status %d body %q, want %d with a message", resp.StatusCode, body, tc.status)
			}
		})
	}
}

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		b[i] = byte((p.off + int64(i)) * 7 >> 3)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestProxyLargeFileBoundedHeap streams a 200 MiB file through the proxy and samples the heap.
func TestProxyLargeFileBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MiB")
	}
	const size = 200 << 20
	here, source := twoNodes(t, Proxy, nil)
	id := source.upload(t, &patternReader{n: size}, size, "bin")
	want := md5.New()
	io.Copy(want, &patternReader{n: size})

	runtimeGC()
	base := heapInUse()
	resp, err := http.Get(here.url + "/" + id.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := md5.New()
	buf := make([]byte, 1<<20)
	var n, peak int64
	for {
		m, err := resp.Body.Read(buf)
		got.Write(buf[:m])
		n += int64(m)
		if n%(16<<20) < int64(m) {
			peak = max(peak, heapInUse()-base)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("proxied %d bytes, md5 match %v", n, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	if peak >= 32<<20 {
		t.Errorf("heap grew by %d MiB while proxying 200 MiB, want < 32 MiB", peak>>20)
	}
	t.Logf("peak heap growth %.1f MiB", float64(peak)/(1<<20))
}
