package httpd

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/token"
)

const (
	secret    = "FastDFS1234567890"
	goodToken = "96133aba6d55f5add73f99b7f7036220" // vectors.md, ts 1795426279
	grpToken  = "101df72afbc72f121f00b0aa5a7f534e" // computed over the ID with the group
	zeroToken = "fd94fbdae568de422a72ebcaf1faffd4" // ts=0
)

// TestToken checks the anti-steal rules of vectors.md "Tokens", with and without a
// token_check_fail file, and the compatibility switches.
func TestToken(t *testing.T) {
	failBody := []byte("\xff\xd8anti-steal image")
	failFile := filepath.Join(t.TempDir(), "anti-steal.jpg")
	if err := os.WriteFile(failFile, failBody, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := fixtureBytes(t, idBin)
	remote := idBin[len("group1/"):]
	future := token.Sign(secret, remote, 1795426279+3600)
	type row struct {
		name, query string
		hdr         map[string]string
		tweak       func(*TokenConfig, *Config)
		ok          bool // 200 with the file; else rejected
		missing     bool // 400 even with a token_check_fail file
	}
	rows := []row{
		{name: "good", query: "token=" + goodToken + "&ts=1795426279", ok: true},
		{name: "any order, other params", query: "a=1&ts=1795426279&b=2&token=" + goodToken, ok: true},
		{name: "ts atoi junk", query: "token=" + goodToken + "&ts=1795426279abc", ok: true},
		{name: "group in token", query: "token=" + grpToken + "&ts=1795426279"},
		{name: "upper-case token", query: "token=" + strings.ToUpper(goodToken) + "&ts=1795426279"},
		{name: "short token", query: "token=abc&ts=1795426279"},
		{name: "missing ts", query: "token=" + goodToken, missing: true},
		{name: "missing token", query: "ts=1795426279", missing: true},
		{name: "ts=0 accepted", query: "token=" + zeroToken + "&ts=0", ok: true},
		{name: "ts=0 refused", query: "token=" + zeroToken + "&ts=0",
			tweak: func(tc *TokenConfig, _ *Config) { tc.RefuseZeroTS = true }},
		{name: "expired", query: "token=" + goodToken + "&ts=1795426279",
			tweak: func(_ *TokenConfig, c *Config) { c.Now = func() time.Time { return time.Unix(1795426279+901, 0) } }},
		{name: "future accepted", query: "token=" + future + "&ts=1795429879", ok: true},
		{name: "future refused", query: "token=" + future + "&ts=1795429879",
			tweak: func(tc *TokenConfig, _ *Config) { tc.RefuseFutureTS = true; tc.FutureSkew = time.Minute }},
		{name: "bypass header", hdr: map[string]string{"x-depot-internal": "let-me-in"}, ok: true},
		{name: "bypass header wrong value", hdr: map[string]string{"X-Depot-Internal": "nope"}, missing: true},
	}
	for _, withFail := range []bool{false, true} {
		for _, r := range rows {
			name := r.name
			if withFail {
				name += "/check_fail_file"
			}
			t.Run(name, func(t *testing.T) {
				cfg, _ := fixtureConfig(t)
				cfg.Token = TokenConfig{Check: true, Secret: secret, TTL: 900 * time.Second,
					BypassHeader: "X-Depot-Internal", BypassValue: "let-me-in"}
				if withFail {
					cfg.Token.CheckFailFile = failFile
				}
				if r.tweak != nil {
					r.tweak(&cfg.Token, &cfg)
				}
				srv, _ := startServer(t, cfg)
				resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?"+r.query, r.hdr)
				switch {
				case r.ok:
					if resp.StatusCode != 200 || !bytes.Equal(body, bin) {
						t.Fatalf("status %d body %q, want the file", resp.StatusCode, trim(body))
					}
				case withFail && !r.missing:
					if resp.StatusCode != 200 || !bytes.Equal(body, failBody) {
						t.Fatalf("status %d body %q, want the token_check_fail file", resp.StatusCode, trim(body))
					}
					wantHeader(t, resp, "Content-Type", "image/jpeg")
					wantHeader(t, resp, "Cache-Control", "no-store")
				default:
					if resp.StatusCode != http.StatusBadRequest {
						t.Fatalf("status %d body %q, want 400", resp.StatusCode, trim(body))
					}
				}
			})
		}
	}
}

// TestTokenCheckFailFileMissing: like FastDFS, a configured but absent file is a config error.
func TestTokenCheckFailFileMissing(t *testing.T) {
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: secret, TTL: time.Minute, CheckFailFile: filepath.Join(t.TempDir(), "nope.jpg")}
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a missing token_check_fail file")
	}
}
