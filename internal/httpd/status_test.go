package httpd

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestStatuses runs one request per row against a real loopback server on the fixture store.
func TestStatuses(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	srv, _ := startServer(t, cfg)
	bin := fixtureBytes(t, idBin)
	tr3 := fixtureBytes(t, idTr3)
	etag := `"8921b602-1000"`
	lmBin := lm(1795426190)
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		body               []byte            // nil: not checked
		want               map[string]string // headers ("" = absent)
	}{
		{"get", "GET", "/" + idBin, nil, 200, bin, map[string]string{"Content-Range": ""}},
		{"post", "POST", "/" + idBin, nil, 405, nil, map[string]string{"Allow": "GET, HEAD"}},
		{"put", "PUT", "/" + idBin, nil, 405, nil, nil},
		{"no group segment", "GET", "/group1", nil, 400, nil, nil},
		{"name under 22", "GET", "/group1/M00/00/00/short.bin", nil, 400, nil, nil},
		{"name under 44", "GET", "/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkh", nil, 400, nil, nil},
		{"store path out of range", "GET", "/group1/M01/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", nil, 400, nil, nil},
		{"X00", "GET", "/group1/X00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", nil, 400, nil, nil},
		{"lower-case dir", "GET", "/group1/M00/0a/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", nil, 400, nil, nil},
		{"bad group name", "GET", "/group_1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", nil, 400, nil, nil},
		{"missing", "GET", "/" + idMissing, nil, 404, nil, nil},
		{"uri over 8k", "GET", "/" + idBin + "?filename=" + strings.Repeat("a", 8200), nil, 414, nil, nil},
		{"uri under 8k", "GET", "/" + idBin + "?x=" + strings.Repeat("a", 4000), nil, 200, bin, nil},
		{"range", "GET", "/" + idBin, map[string]string{"Range": "bytes=0-99"}, 206, bin[:100],
			map[string]string{"Content-Range": "bytes 0-99/4096", "Content-Length": "100"}},
		{"suffix", "GET", "/" + idBin, map[string]string{"Range": "bytes=-100"}, 206, bin[3996:],
			map[string]string{"Content-Range": "bytes 3996-4095/4096"}},
		{"open-ended", "GET", "/" + idBin, map[string]string{"Range": "bytes=4000-"}, 206, bin[4000:],
			map[string]string{"Content-Range": "bytes 4000-4095/4096"}},
		{"clamped", "GET", "/" + idBin, map[string]string{"Range": "bytes=4000-999999"}, 206, bin[4000:],
			map[string]string{"Content-Range": "bytes 4000-4095/4096"}},
		{"0-0 is one byte", "GET", "/" + idBin, map[string]string{"Range": "bytes=0-0"}, 206, bin[:1],
			map[string]string{"Content-Range": "bytes 0-0/4096"}},
		{"suffix 0", "GET", "/" + idBin, map[string]string{"Range": "bytes=-0"}, 416, nil,
			map[string]string{"Content-Range": "bytes */4096"}},
		{"start past end", "GET", "/" + idBin, map[string]string{"Range": "bytes=5000-"}, 416, nil,
			map[string]string{"Content-Range": "bytes */4096"}},
		{"malformed", "GET", "/" + idBin, map[string]string{"Range": "bytes=abc"}, 416, nil,
			map[string]string{"Content-Range": "bytes */4096"}},
		{"start after end", "GET", "/" + idBin, map[string]string{"Range": "bytes=9-5"}, 416, nil, nil},
		{"other unit ignored", "GET", "/" + idBin, map[string]string{"Range": "items=0-5"}, 200, bin, nil},
		{"too many ranges", "GET", "/" + idBin, map[string]string{"Range": "bytes=" + strings.Repeat("0-1,", 64) + "0-1"}, 416, nil, nil},
		{"head range", "HEAD", "/" + idBin, map[string]string{"Range": "bytes=0-99"}, 206, []byte{},
			map[string]string{"Content-Range": "bytes 0-99/4096", "Content-Length": "100"}},
		{"trunk range", "GET", "/" + idTr3, map[string]string{"Range": "bytes=99990-"}, 206, tr3[99990:],
			map[string]string{"Content-Range": "bytes 99990-99999/100000"}},
		{"if-modified-since equal", "GET", "/" + idBin, map[string]string{"If-Modified-Since": lmBin}, 304, []byte{},
			map[string]string{"ETag": etag, "Last-Modified": lmBin}},
		{"if-modified-since later", "GET", "/" + idBin, map[string]string{"If-Modified-Since": lm(1795426290)}, 304, []byte{}, nil},
		{"if-modified-since earlier", "GET", "/" + idBin, map[string]string{"If-Modified-Since": lm(1795426000)}, 200, bin, nil},
		{"if-none-match", "GET", "/" + idBin, map[string]string{"If-None-Match": `"x", ` + etag}, 304, []byte{}, nil},
		{"if-none-match weak", "HEAD", "/" + idBin, map[string]string{"If-None-Match": "W/" + etag}, 304, []byte{}, nil},
		{"if-none-match other", "GET", "/" + idBin, map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": lmBin}, 200, bin, nil},
		{"if-match other", "GET", "/" + idBin, map[string]string{"If-Match": `"x"`}, 412, nil, nil},
		{"if-range etag", "GET", "/" + idBin, map[string]string{"Range": "bytes=0-9", "If-Range": etag}, 206, bin[:10], nil},
		{"if-range stale", "GET", "/" + idBin, map[string]string{"Range": "bytes=0-9", "If-Range": `"old"`}, 200, bin, nil},
		{"if-range date", "GET", "/" + idBin, map[string]string{"Range": "bytes=0-9", "If-Range": lmBin}, 206, bin[:10], nil},
		{"filename", "GET", "/" + idBin + "?filename=foo.txt", nil, 200, bin,
			map[string]string{"Content-Disposition": `attachment; filename="foo.txt"`}},
		{"filename quoted", "GET", "/" + idBin + "?filename=a%22b%5C.txt", nil, 200, bin,
			map[string]string{"Content-Disposition": `attachment; filename="a\"b\\.txt"`}},
		{"filename utf-8", "GET", "/" + idBin + "?filename=%E6%8A%A5%E5%91%8A+1.pdf", nil, 200, bin,
			map[string]string{"Content-Disposition": `attachment; filename="__ 1.pdf"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%201.pdf`}},
		{"filename crlf", "GET", "/" + idBin + "?filename=a%0d%0aSet-Cookie:x", nil, 200, bin,
			map[string]string{"Content-Disposition": `attachment; filename="aSet-Cookie:x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fetch(t, tc.method, srv.URL+tc.path, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.status, trim(body))
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body: %d bytes %q…, want %d bytes", len(body), trim(body), len(tc.body))
			}
			if tc.status >= 400 && tc.method != "HEAD" && len(body) < 5 {
				t.Errorf("error without an explaining body: %q", body)
			}
			for k, v := range tc.want {
				wantHeader(t, resp, k, v)
			}
		})
	}
}

func trim(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// TestMultiRange checks the multipart/byteranges body part by part, and the switch.
func TestMultiRange(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run("enabled="+strconv.FormatBool(enabled), func(t *testing.T) {
			cfg, _ := fixtureConfig(t)
			cfg.MultiRange = enabled
			srv, _ := startServer(t, cfg)
			for _, id := range []string{idBin, idTr1} {
				data := fixtureBytes(t, id)
				resp, body := fetch(t, "GET", srv.URL+"/"+id, map[string]string{"Range": "bytes=0-9, 20-29,-5"})
				if !enabled {
					if resp.StatusCode != 416 {
						t.Fatalf("status %d, want 416", resp.StatusCode)
					}
					continue
				}
				if resp.StatusCode != 206 {
					t.Fatalf("status %d, want 206", resp.StatusCode)
				}
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
					t.Errorf("Content-Length %s, body %d", cl, len(body))
				}
				mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
				if err != nil || mt != "multipart/byteranges" {
					t.Fatalf("Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
				}
				mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
				n := len(data)
				want := []struct {
					cr   string
					data []byte
				}{
					{"bytes 0-9/" + strconv.Itoa(n), data[:10]},
					{"bytes 20-29/" + strconv.Itoa(n), data[20:30]},
					{"bytes " + strconv.Itoa(n-5) + "-" + strconv.Itoa(n-1) + "/" + strconv.Itoa(n), data[n-5:]},
				}
				for i, w := range want {
					p, err := mr.NextPart()
					if err != nil {
						t.Fatalf("part %d: %v", i, err)
					}
					got, _ := io.ReadAll(p)
					if p.Header.Get("Content-Range") != w.cr || !bytes.Equal(got, w.data) {
						t.Errorf("part %d: %q %q, want %q %q", i, p.Header.Get("Content-Range"), got, w.cr, w.data)
					}
					if p.Header.Get("Content-Type") != "application/octet-stream" {
						t.Errorf("part %d type %q", i, p.Header.Get("Content-Type"))
					}
				}
				if _, err := mr.NextPart(); err != io.EOF {
					t.Errorf("after the last part: %v", err)
				}
			}
		})
	}
}

// TestNoGroupInURL serves "/M00/…" URLs for the one configured group.
func TestNoGroupInURL(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	cfg.URLHaveGroupName = false
	srv, _ := startServer(t, cfg)
	resp, body := fetch(t, "GET", srv.URL+"/"+idBin[len("group1/"):], nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, fixtureBytes(t, idBin)) {
		t.Fatalf("status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = fetch(t, "GET", srv.URL+"/"+idBin, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("group-prefixed URL with url_have_group_name=false: status %d, want 400", resp.StatusCode)
	}
}
