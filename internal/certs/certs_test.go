package certs_test

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/depotfs/depot/internal/certs"
	"github.com/depotfs/depot/internal/certs/certstest"
)

// TestReloadSwapsCertificate: a handshake after Reload sees the new certificate; a failed
// Reload keeps the old one.
func TestReloadSwapsCertificate(t *testing.T) {
	ca := certstest.New(t)
	c1, k1 := ca.Issue(t, "one")
	c2, k2 := ca.Issue(t, "two")
	p, err := certs.LoadPair(c1, k1)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", p.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	cn := func() string {
		t.Helper()
		cfg, err := certs.ClientConfig(ca.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := cn(); got != "one" {
		t.Fatalf("first handshake: CN %q, want one", got)
	}
	if err := p.Reload(c2, k2); err != nil {
		t.Fatal(err)
	}
	if got := cn(); got != "two" {
		t.Fatalf("after Reload: CN %q, want two", got)
	}
	if err := p.Reload(c1, k2); err == nil { // key of another certificate
		t.Fatal("Reload with a mismatched key: no error")
	}
	if got := cn(); got != "two" {
		t.Fatalf("after a failed Reload: CN %q, want two (kept)", got)
	}
}

func TestClientConfigBadCA(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	if _, err := certs.ClientConfig(bad); !errors.Is(err, certs.ErrNoCert) {
		t.Fatalf("garbage CA file: err %v, want ErrNoCert", err)
	}
	if _, err := certs.ClientConfig(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Fatal("missing CA file: no error")
	}
	if _, err := certs.LoadPair("/nonexistent/c.pem", "/nonexistent/k.pem"); err == nil {
		t.Fatal("missing pair: no error")
	}
}
