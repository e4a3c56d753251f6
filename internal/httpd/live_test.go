package httpd

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/token"
)

// TestSetLive switches a running node from redirect to proxy, turns the token check on and
// lifts its rate limit while a paced download is in flight: new requests follow the new
// settings at once, the download in flight finishes whole at its old pace.
func TestSetLive(t *testing.T) {
	const limit = 128 << 10
	here, source := twoNodes(t, Redirect, func(c *Config) { c.LimitRate = limit })
	missing := source.upload(t, bytes.NewReader([]byte("on the source only\n")), 19, "txt")
	body := make([]byte, 256<<10)
	rand.Read(body)
	local := here.upload(t, bytes.NewReader(body), int64(len(body)), "bin")

	if resp, _ := fetch(t, "GET", here.url+"/"+missing.String(), nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("before: status %d, want 302 (redirect)", resp.StatusCode)
	}
	// A paced download (256 KiB at 128 KiB/s: about 2 s) is in flight: its header and some
	// body are here.
	c, err := net.Dial("tcp", here.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n", local)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}

	const secret = "live-secret"
	if err := here.h.SetLive(Live{ResponseMode: Proxy, Token: TokenConfig{Check: true, Secret: secret, TTL: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if r, b := fetch(t, "GET", here.url+"/"+missing.String(), nil); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("after: no token: status %d %q, want 400", r.StatusCode, b)
	}
	signed := func(id string) string {
		remote := id[len("group1/"):]
		ts := time.Now().Unix()
		return "/" + id + "?token=" + token.Sign(secret, remote, ts) + "&ts=" + strconv.FormatInt(ts, 10)
	}
	if r, b := fetch(t, "GET", here.url+signed(missing.String()), nil); r.StatusCode != http.StatusOK || string(b) != "on the source only\n" {
		t.Fatalf("after: signed miss: status %d %q, want 200 through the proxy", r.StatusCode, b)
	}
	t0 := time.Now()
	if r, b := fetch(t, "GET", here.url+signed(local.String()), nil); r.StatusCode != http.StatusOK || !bytes.Equal(b, body) {
		t.Fatalf("after: signed local: status %d, %d bytes", r.StatusCode, len(b))
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("a new download took %v: still paced after the limit was lifted", took)
	}

	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download in flight broke: %v", err)
	}
	if got := append(first, rest...); !bytes.Equal(got, body) {
		t.Fatalf("the download in flight got %d bytes, want the %d of the file", len(got), len(body))
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("the download in flight took %v: it lost its pace (256 KiB at 128 KiB/s is about 2 s)", took)
	}
}

// TestSetLiveRefused: settings New would refuse leave the ones in force.
func TestSetLiveRefused(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: "s", TTL: time.Hour}
	srv, h := startServer(t, cfg)
	before := h.Live()
	for name, l := range map[string]Live{
		"no secret":         {Token: TokenConfig{Check: true, TTL: time.Hour}},
		"no ttl":            {Token: TokenConfig{Check: true, Secret: "s"}},
		"bypass, no value":  {Token: TokenConfig{BypassHeader: "X-In"}},
		"negative rate":     {LimitRate: -1},
		"missing fail file": {Token: TokenConfig{Check: true, Secret: "s", TTL: time.Hour, CheckFailFile: filepath.Join(t.TempDir(), "nope.jpg")}},
	} {
		if err := h.SetLive(l); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: SetLive = %v, want ErrConfig", name, err)
		}
	}
	if got := h.Live(); got.Token != before.Token || got.LimitRate != 0 {
		t.Fatalf("settings after refused updates: %+v, want %+v", got, before)
	}
	if r, _ := fetch(t, "GET", srv.URL+"/"+idBin, nil); r.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400: the token check stays on", r.StatusCode)
	}
}

// TestSetLiveReferers changes the download Referer allow-list.
func TestSetLiveReferers(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	srv, h := startServer(t, cfg)
	hdr := map[string]string{"Referer": "https://other.example/page"}
	if r, _ := fetch(t, "GET", srv.URL+"/"+idBin, hdr); r.StatusCode != http.StatusOK {
		t.Fatalf("no allow-list: status %d", r.StatusCode)
	}
	l := h.Live()
	l.DownloadReferers = func(ref string) bool { return ref == "https://mine.example/" }
	if err := h.SetLive(l); err != nil {
		t.Fatal(err)
	}
	if r, _ := fetch(t, "GET", srv.URL+"/"+idBin, hdr); r.StatusCode != http.StatusForbidden {
		t.Errorf("other referer: status %d, want 403", r.StatusCode)
	}
	if r, _ := fetch(t, "GET", srv.URL+"/"+idBin, map[string]string{"Referer": "https://mine.example/"}); r.StatusCode != http.StatusOK {
		t.Errorf("allowed referer: status %d, want 200", r.StatusCode)
	}
}
