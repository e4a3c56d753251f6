package httpd

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/token"
)

// TestCountersLocal: responses by status, body bytes and token failures move by what the
// requests did, and nothing else does.
func TestCountersLocal(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: "FastDFS1234567890", TTL: time.Hour}
	srv, h := startServer(t, cfg)
	signed := func(id string) string {
		ts := fixtureNow().Unix()
		return srv.URL + "/" + id + "?token=" + token.Sign(cfg.Token.Secret, id[len("group1/"):], ts) +
			"&ts=" + strconv.FormatInt(ts, 10)
	}
	size := int64(len(fixtureBytes(t, idBin)))
	steps := []struct {
		url    string
		hdr    map[string]string
		status int
	}{
		{signed(idBin), nil, 200},
		{signed(idBin), map[string]string{"Range": "bytes=0-99"}, 206},
		{signed(idMissing), nil, 404},
		{srv.URL + "/" + idBin + "?token=0123456789abcdef0123456789abcdef&ts=" + strconv.FormatInt(fixtureNow().Unix(), 10), nil, 400},
		{srv.URL + "/" + idBin, nil, 400}, // no token at all
	}
	var bodies uint64
	for _, s := range steps {
		resp, body := fetch(t, "GET", s.url, s.hdr)
		if resp.StatusCode != s.status {
			t.Fatalf("GET %s: %d %q, want %d", s.url, resp.StatusCode, body, s.status)
		}
		bodies += uint64(len(body))
	}
	got := h.Counters()
	want := map[int]uint64{200: 1, 206: 1, 404: 1, 400: 2}
	if len(got.Responses) != len(want) {
		t.Errorf("responses %v, want %v", got.Responses, want)
	}
	for code, n := range want {
		if got.Responses[code] != n {
			t.Errorf("responses %v, want %v", got.Responses, want)
		}
	}
	if got.BodyBytes != bodies || bodies < uint64(size)+100 {
		t.Errorf("body bytes %d, want %d (the %d-byte file, 100 of it, three messages)", got.BodyBytes, bodies, size)
	}
	if got.TokenFailures != 2 || got.Redirects != 0 || got.Proxied != 0 || got.ProxyErrors != 0 {
		t.Errorf("counters %+v, want 2 token failures and no redirect or proxy", got)
	}
}

// TestCountersNotLocal: a miss redirected or proxied to the source node is counted as such,
// and a proxied request the source does not answer as a proxy error too.
func TestCountersNotLocal(t *testing.T) {
	data := []byte("replicated later\n")

	here, source := twoNodes(t, Redirect, nil)
	id := source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
	if resp, _ := fetch(t, "GET", here.url+"/"+id.String(), nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect mode: %d", resp.StatusCode)
	}
	if c := here.h.Counters(); c.Redirects != 1 || c.Proxied != 0 || c.Responses[302] != 1 {
		t.Errorf("after a redirect: %+v", c)
	}

	here, source = twoNodes(t, Proxy, nil)
	id = source.upload(t, bytes.NewReader(data), int64(len(data)), "txt")
	for range 2 {
		if resp, body := fetch(t, "GET", here.url+"/"+id.String(), nil); resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("proxy mode: %d %q", resp.StatusCode, body)
		}
	}
	if c := here.h.Counters(); c.Proxied != 2 || c.ProxyErrors != 0 || c.Redirects != 0 || c.BodyBytes != uint64(2*len(data)) {
		t.Errorf("after two proxied requests: %+v", c)
	}
	if c := source.h.Counters(); c.Responses[200] != 2 || c.Proxied != 0 {
		t.Errorf("source after serving two proxied requests: %+v", c)
	}

	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String()
	dead.Close()
	here, source = twoNodes(t, Proxy, func(c *Config) {
		c.SourceURL = func(fileid.ID) (string, bool) { return deadURL, true }
	})
	id = source.upload(t, strings.NewReader("abc"), 3, "txt")
	if resp, _ := fetch(t, "GET", here.url+"/"+id.String(), nil); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("source down: %d", resp.StatusCode)
	}
	if c := here.h.Counters(); c.Proxied != 1 || c.ProxyErrors != 1 || c.Responses[502] != 1 {
		t.Errorf("after a proxy to a dead source: %+v", c)
	}
}
