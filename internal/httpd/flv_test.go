package httpd

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFLV checks FLV pseudo-streaming: ?start= and ?end= without a Range header, the 13-byte
// FLV header before data that starts past 0 (counted in Content-Length), 200, 400 on bad values.
func TestFLV(t *testing.T) {
	s := openStore(t, "", [4]byte{127, 0, 0, 1})
	data := []byte(strings.Repeat("0123456789", 10)) // 100 bytes
	id := (&node{store: s}).upload(t, bytes.NewReader(data), int64(len(data)), "flv")
	other := (&node{store: s}).upload(t, bytes.NewReader(data), int64(len(data)), "mp4")
	cfg := Config{Groups: []Group{{Name: "group1", Store: s, StorePathCount: 1}}, URLHaveGroupName: true, FLV: true}
	srv, _ := startServer(t, cfg)
	u := srv.URL + "/" + id.String()
	hdr := []byte(flvHeader)
	tests := []struct {
		name, method, url string
		rng               string
		status            int
		body              []byte
	}{
		{"start 0", "GET", u + "?start=0", "", 200, data},
		{"start 10", "GET", u + "?start=10", "", 200, append(append([]byte{}, hdr...), data[10:]...)},
		{"start and end", "GET", u + "?start=10&end=20", "", 200, append(append([]byte{}, hdr...), data[10:20]...)},
		{"end past size", "GET", u + "?start=90&end=500", "", 200, append(append([]byte{}, hdr...), data[90:]...)},
		{"head", "HEAD", u + "?start=10", "", 200, []byte{}},
		{"no start", "GET", u, "", 200, data},
		{"bad start", "GET", u + "?start=abc", "", 400, nil},
		{"negative start", "GET", u + "?start=-1", "", 400, nil},
		{"start past size", "GET", u + "?start=100", "", 400, nil},
		{"end before start", "GET", u + "?start=10&end=10", "", 400, nil},
		{"bad end", "GET", u + "?start=10&end=x", "", 400, nil},
		{"range wins", "GET", u + "?start=10", "bytes=0-4", 206, data[:5]},
		{"other extension", "GET", srv.URL + "/" + other.String() + "?start=10", "", 200, data},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h map[string]string
			if tc.rng != "" {
				h = map[string]string{"Range": tc.rng}
			}
			resp, body := fetch(t, tc.method, tc.url, h)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.status, body)
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Fatalf("body %q, want %q", body, tc.body)
			}
			if tc.status == 200 && tc.method == "GET" {
				wantHeader(t, resp, "Content-Length", strconv.Itoa(len(tc.body)))
				wantHeader(t, resp, "Content-Range", "")
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		cfg.FLV = false
		srv, _ := startServer(t, cfg)
		resp, body := fetch(t, "GET", srv.URL+"/"+id.String()+"?start=10", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Errorf("flv off: status %d body %q, want the whole file", resp.StatusCode, body)
		}
	})
}

// TestOtherGroup: a URL of a group this node does not serve goes to the file's source
// (redirect or proxy), whatever its age, with the redirect= loop guard; only the node's own
// groups get the 404 rules.
func TestOtherGroup(t *testing.T) {
	for _, mode := range []Mode{Redirect, Proxy} {
		t.Run(map[Mode]string{Redirect: "redirect", Proxy: "proxy"}[mode], func(t *testing.T) {
			here, source := twoNodes(t, mode, func(c *Config) {
				c.Groups[0].Name = "group9"
				c.Now = func() time.Time { return time.Now().Add(25 * time.Hour) } // older than the sync delay
			})
			data := []byte("served by group1's node\n")
			id := source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
			resp, body := fetch(t, "GET", here.url+"/"+id.String(), nil)
			switch mode {
			case Redirect:
				port := here.url[strings.LastIndexByte(here.url, ':'):]
				if resp.StatusCode != 302 {
					t.Fatalf("status %d body %q, want 302", resp.StatusCode, body)
				}
				wantHeader(t, resp, "Location", "http://127.0.0.2"+port+"/"+id.String()+"?redirect=1")
			case Proxy:
				if resp.StatusCode != 200 || !bytes.Equal(body, data) {
					t.Fatalf("status %d body %q, want 200 %q", resp.StatusCode, body, data)
				}
			}
			resp, _ = fetch(t, "GET", here.url+"/"+id.String()+"?redirect=1", nil)
			if resp.StatusCode != 400 {
				t.Errorf("loop guard: status %d, want 400", resp.StatusCode)
			}
		})
	}
}
