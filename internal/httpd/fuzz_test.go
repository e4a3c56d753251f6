package httpd

import (
	"context"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-99", "bytes=-100", "bytes=4000-", "bytes=0-0", "bytes=-0",
		"bytes=0-9,20-29", "items=1-2", "bytes=", "bytes=9-5", "bytes= 1 - 2 , ,3-", "bytes=99999999999999999999999-"} {
		f.Add(s, int64(4096))
	}
	f.Add("bytes=0-", int64(0))
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
			if size < 0 {
				return
			}
		}
		rs, err := parseRange(nil, s, size, 8)
		if err != nil {
			if len(rs) != 0 {
				t.Fatalf("%q: error %v with %d ranges", s, err, len(rs))
			}
			return
		}
		if len(rs) == 0 || len(rs) > 8 {
			t.Fatalf("%q: %d ranges without error", s, len(rs))
		}
		for _, r := range rs {
			if r.start < 0 || r.length <= 0 || r.start+r.length > size {
				t.Fatalf("%q size %d: range %+v out of bounds", s, size, r)
			}
		}
	})
}

func FuzzURL(f *testing.F) {
	f.Add("/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", "token=abc&ts=1&filename=a%22b")
	f.Add("/M00/00/00/x", "filename=%E6%8A%A5+1.pdf&redirect")
	f.Add("group1", "=&&=x&token")
	f.Fuzz(func(t *testing.T, path, query string) {
		for _, have := range []bool{true, false} {
			g, rem, ok := splitPath(path, have)
			if !ok {
				continue
			}
			if !strings.HasSuffix(path, rem) || (have && (g == "" || strings.Contains(g, "/"))) {
				t.Fatalf("splitPath(%q, %v) = %q, %q", path, have, g, rem)
			}
		}
		for _, key := range []string{"token", "ts", "filename", "redirect"} {
			v, ok := queryValue(query, key)
			if !ok {
				continue
			}
			if !hasQueryKey(query, key) {
				t.Fatalf("queryValue(%q, %q) found a value, hasQueryKey did not", query, key)
			}
			cd := contentDisposition(v)
			if strings.ContainsAny(cd, "\r\n\x00") {
				t.Fatalf("contentDisposition(%q) = %q: control characters", v, cd)
			}
			if !utf8.ValidString(v) {
				continue
			}
			disp, params, err := mime.ParseMediaType(cd)
			want := strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f {
					return -1
				}
				return r
			}, v)
			if err != nil || disp != "attachment" || params["filename"] != want {
				t.Fatalf("contentDisposition(%q) = %q: parses as %q %q, %v", v, cd, disp, params["filename"], err)
			}
		}
	})
}

func FuzzParseMimeTypes(f *testing.F) {
	if b, err := os.ReadFile("/etc/nginx/mime.types"); err == nil {
		f.Add(string(b))
	}
	f.Add("image/jpeg jpeg jpg\n# comment\ntext/plain txt # x\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMimeTypes(strings.NewReader(s))
		if err != nil {
			return
		}
		for ext, typ := range m {
			if ext == "" || !strings.Contains(typ, "/") || strings.ContainsAny(ext, " \t\n;#") {
				t.Fatalf("%q → %q", ext, typ)
			}
		}
	})
}

// FuzzServe drives the whole handler over the fixture store with arbitrary paths, queries and
// Range headers: no panic, a known status, and a body that matches Content-Length.
func FuzzServe(f *testing.F) {
	cfg, _ := fixtureConfig(f)
	cfg.ResponseMode = Redirect // never reach for the network
	cfg.Token.Secret = secret   // check off: a signed URL that verifies names the download
	h, err := New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { h.Close() })
	f.Add("/"+idBin, "filename=x.txt", "bytes=0-9,20-")
	f.Add("/"+idTr3, "", "bytes=-5")
	f.Add("/"+idSlave, "redirect=1", "")
	f.Add("/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin/..", "", "bytes=5-1")
	f.Add("/"+idBin, signQuery(f, secret, "/"+idBin, signedClaims), "")
	f.Fuzz(func(t *testing.T, path, query, rng string) {
		r := &http.Request{
			Method:     http.MethodGet,
			URL:        &url.URL{Path: path, RawQuery: query},
			RequestURI: path + "?" + query,
			Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:     http.Header{},
			RemoteAddr: "127.0.0.1:1",
		}
		r = r.WithContext(context.Background())
		if rng != "" {
			r.Header["Range"] = []string{rng}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 206, 302, 304, 400, 404, 414, 416:
		default:
			t.Fatalf("%q ? %q Range %q: status %d", path, query, rng, w.Code)
		}
		if cl := w.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(w.Body.Len()) {
			t.Fatalf("%q ? %q Range %q: Content-Length %s, body %d", path, query, rng, cl, w.Body.Len())
		}
	})
}
