package httpd

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// discardWriter is a ResponseWriter that drops the body; like net/http's response it has a
// ReadFrom, so the file copy does not allocate a buffer per request.
type discardWriter struct {
	h      http.Header
	status int
	buf    []byte
	n      int64
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(s int)   { d.status = s }
func (d *discardWriter) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return len(p), nil
}
func (d *discardWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.CopyBuffer(struct{ io.Writer }{d}, r, d.buf)
	return n, err
}

func benchRequest(path string) *http.Request {
	r := &http.Request{
		Method: http.MethodGet, URL: &url.URL{Path: path}, RequestURI: path,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, RemoteAddr: "127.0.0.1:1",
	}
	return r.WithContext(context.Background())
}

// BenchmarkServe4K measures the handler alone (parse, open, headers, copy of a 4 KiB file)
// and reports allocs/op; the ResponseWriter is a fake, the store a real disk.Store.
func BenchmarkServe4K(b *testing.B) {
	for _, tc := range []struct{ name, id string }{{"normal", idBin}, {"trunk", idTr1}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg, _ := fixtureConfig(b)
			h, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			r := benchRequest("/" + tc.id)
			w := &discardWriter{h: http.Header{}, buf: make([]byte, 32<<10)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
		})
	}
}

// BenchmarkServe4KLoopback measures a real server on loopback with a keep-alive client.
func BenchmarkServe4KLoopback(b *testing.B) {
	cfg, _ := fixtureConfig(b)
	srv, _ := startServer(b, cfg)
	u := srv.URL + "/" + idBin
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
