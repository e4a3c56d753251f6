package httpd

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/token"
)

// signedClaims are the claims of the signed URLs of these tests: valid at fixtureNow.
var signedClaims = token.Claims{Expires: 1795426279 + 600, User: "alice", Rate: 1 << 20, Filename: "report 2026.pdf"}

const signedDisposition = `attachment; filename="report 2026.pdf"`

// signQuery signs path ("/group1/M00/...") with c.
func signQuery(t testing.TB, secret, path string, c token.Claims) string {
	t.Helper()
	q, err := token.SignQuery(secret, path, c)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestSignedURL serves signed URLs with the check on: good ones give the file and the signed
// file name, tampered, forged, expired and malformed ones are refused like bad md5 tokens.
func TestSignedURL(t *testing.T) {
	failBody := []byte("\xff\xd8anti-steal image")
	failFile := filepath.Join(t.TempDir(), "anti-steal.jpg")
	if err := os.WriteFile(failFile, failBody, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := fixtureBytes(t, idBin)
	good := signQuery(t, secret, "/"+idBin, signedClaims)
	expired := signedClaims
	expired.Expires = fixtureNow().Unix() - 1
	type row struct {
		name, path, query string
		ok                bool   // 200 with the file; else refused
		disposition       string // with ok
	}
	rows := []row{
		{name: "good", query: good, ok: true, disposition: signedDisposition},
		{name: "expires only", query: signQuery(t, secret, "/"+idBin, token.Claims{Expires: signedClaims.Expires}), ok: true},
		{name: "escaped path", path: "/" + strings.TrimSuffix(idBin, ".bin") + "%2Ebin", query: good, ok: true, disposition: signedDisposition},
		{name: "md5 params beside", query: good + "&token=" + goodToken + "&ts=1", ok: true, disposition: signedDisposition},
		{name: "expired", query: signQuery(t, secret, "/"+idBin, expired)},
		{name: "forged", query: signQuery(t, "not the secret", "/"+idBin, signedClaims)},
		{name: "tampered user", query: strings.Replace(good, "user=alice", "user=mallory", 1)},
		{name: "tampered rate", query: strings.Replace(good, "rate=1048576", "rate=104857600", 1)},
		{name: "rate dropped", query: strings.Replace(good, "&rate=1048576", "", 1)},
		{name: "tampered expiry", query: strings.Replace(good, "expires=1795426879", "expires=1795999999", 1)},
		{name: "tampered filename", query: strings.Replace(good, "filename=report", "filename=invoice", 1)},
		{name: "other path", path: "/" + idTxt, query: good},
		{name: "path without group", path: "/" + idBin, query: signQuery(t, secret, "/"+idBin[len("group1/"):], signedClaims)},
		{name: "bad sig", query: "expires=1795426879&sig=abc"},
		{name: "duplicate filename", query: good + "&filename=x.exe"},
	}
	for _, withFail := range []bool{false, true} {
		for _, r := range rows {
			name := r.name
			if withFail {
				name += "/check_fail_file"
			}
			t.Run(name, func(t *testing.T) {
				cfg, _ := fixtureConfig(t)
				cfg.Token = TokenConfig{Check: true, Secret: secret, TTL: 900 * time.Second}
				if withFail {
					cfg.Token.CheckFailFile = failFile
				}
				srv, _ := startServer(t, cfg)
				path := r.path
				if path == "" {
					path = "/" + idBin
				}
				resp, body := fetch(t, "GET", srv.URL+path+"?"+r.query, nil)
				switch {
				case r.ok:
					if resp.StatusCode != 200 || !bytes.Equal(body, bin) {
						t.Fatalf("status %d body %q, want the file", resp.StatusCode, trim(body))
					}
					wantHeader(t, resp, "Content-Disposition", r.disposition)
				case withFail:
					if resp.StatusCode != 200 || !bytes.Equal(body, failBody) {
						t.Fatalf("status %d body %q, want the token_check_fail file", resp.StatusCode, trim(body))
					}
				default:
					if resp.StatusCode != http.StatusBadRequest || !bytes.HasPrefix(body, []byte("signed URL rejected: token: ")) {
						t.Fatalf("status %d body %q, want 400 saying what failed", resp.StatusCode, trim(body))
					}
				}
			})
		}
	}
}

// TestRefuseMD5 checks http.anti_steal.refuse_md5_token: md5 tokens (and no credential) are
// 400 even with a token_check_fail file; signed URLs pass.
func TestRefuseMD5(t *testing.T) {
	failFile := filepath.Join(t.TempDir(), "anti-steal.jpg")
	if err := os.WriteFile(failFile, []byte("fail"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: true, Secret: secret, TTL: 900 * time.Second, RefuseMD5: true, CheckFailFile: failFile}
	srv, _ := startServer(t, cfg)
	for _, q := range []string{"token=" + goodToken + "&ts=1795426279", ""} {
		resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?"+q, nil)
		if resp.StatusCode != http.StatusBadRequest || string(body) != msgMD5Refused+"\n" {
			t.Errorf("?%s: status %d body %q, want 400 %q", q, resp.StatusCode, trim(body), msgMD5Refused)
		}
	}
	resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?"+signQuery(t, secret, "/"+idBin, signedClaims), nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, fixtureBytes(t, idBin)) {
		t.Errorf("signed URL: status %d body %q, want the file", resp.StatusCode, trim(body))
	}
}

// TestSignedURLCheckOff: with the check off, a signed URL that verifies still names the
// download; one that does not is ignored (the request is anonymous, ?filename= as ever).
func TestSignedURLCheckOff(t *testing.T) {
	good := signQuery(t, secret, "/"+idBin, signedClaims)
	tampered := strings.Replace(good, "filename=report", "filename=invoice", 1)
	tests := []struct {
		name, secret, query, disposition string
	}{
		{"valid", secret, good, signedDisposition},
		{"invalid", secret, tampered, `attachment; filename="invoice 2026.pdf"`},
		{"expired", secret, signQuery(t, secret, "/"+idBin, token.Claims{Expires: 1}), ""},
		{"no secret", "", good, signedDisposition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := fixtureConfig(t)
			cfg.Token = TokenConfig{Secret: tt.secret}
			srv, _ := startServer(t, cfg)
			resp, body := fetch(t, "GET", srv.URL+"/"+idBin+"?"+tt.query, nil)
			if resp.StatusCode != 200 || !bytes.Equal(body, fixtureBytes(t, idBin)) {
				t.Fatalf("status %d body %q, want the file", resp.StatusCode, trim(body))
			}
			wantHeader(t, resp, "Content-Disposition", tt.disposition)
		})
	}
}

// TestSignedGrant checks what a signed URL puts into the request's grant: with the check on,
// off, and with the bypass header.
func TestSignedGrant(t *testing.T) {
	good := signQuery(t, secret, "/"+idBin, signedClaims)
	bad := strings.Replace(good, "user=alice", "user=mallory", 1)
	want := grant{user: "alice", rate: 1 << 20, filename: "report 2026.pdf"}
	bypass := map[string]string{"X-Depot-Internal": "let-me-in"}
	tests := []struct {
		name  string
		check bool
		query string
		hdr   map[string]string
		want  grant
	}{
		{"check on", true, good, nil, want},
		{"check off", false, good, nil, want},
		{"check off, invalid", false, bad, nil, grant{}},
		{"bypass", true, good, bypass, want},
		{"bypass, invalid", true, bad, bypass, grant{}},
		{"md5 token", true, "token=" + goodToken + "&ts=1795426279", nil, grant{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := fixtureConfig(t)
			cfg.Token = TokenConfig{Check: tt.check, Secret: secret, TTL: 900 * time.Second,
				BypassHeader: "X-Depot-Internal", BypassValue: "let-me-in"}
			h, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			r := httptest.NewRequest("GET", "/"+idBin+"?"+tt.query, nil)
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			gr := grant{live: h.live.Load()}
			if tt.check {
				if status, msg, ok := h.checkToken(r, idBin[len("group1/"):], &gr); !ok {
					t.Fatalf("checkToken = %d %q", status, msg)
				}
			} else {
				h.honourSigned(r, &gr)
			}
			if gr.live = nil; gr != tt.want {
				t.Errorf("grant %+v, want %+v", gr, tt.want)
			}
		})
	}
}
