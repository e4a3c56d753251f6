package main

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/depotfs/depot/internal/certs/certstest"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
)

// TestTLS: fdfs reaches a storage serving gRPC over TLS with tls_ca_file in client.conf or
// with -tls-ca, and without TLS fails with an error that names it.
func TestTLS(t *testing.T) {
	ca := certstest.New(t)
	srv := svctest.StartWith(t, grpc.Creds(credentials.NewTLS(ca.ServerConfig(t, "storage"))))
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	writeFile(t, conf, "storage_server = "+srv.Addr+"\ntls_ca_file = "+ca.CAFile+"\n")

	id := strings.TrimSpace(mustRun(t, "over tls", "-c", conf, "upload", "-"))
	if !idLine.MatchString(id + "\n") {
		t.Fatalf("upload over TLS printed %q", id)
	}
	if got := mustRun(t, "", "-c", conf, "download", id); got != "over tls" {
		t.Fatalf("download over TLS: %q", got)
	}
	if got := mustRun(t, "", "-storage", srv.Addr, "-tls-ca", ca.CAFile, "download", id); got != "over tls" {
		t.Fatalf("download with -tls-ca: %q", got)
	}
	r := fdfs(t, "", "-storage", srv.Addr, "download", id)
	if r.err == nil || !strings.Contains(r.err.Error(), "TLS") {
		t.Fatalf("plaintext fdfs against a TLS storage: err %v, want one naming TLS", r.err)
	}
	r = fdfs(t, "", "-storage", srv.Addr, "-tls", "download", id) // system roots: the test CA is not among them
	if r.err == nil {
		t.Fatal("-tls without the CA trusted the test certificate")
	}
	if r := fdfs(t, "", "-tls-ca", filepath.Join(dir, "missing.pem"), "-storage", srv.Addr, "download", id); r.code() != 2 {
		t.Fatalf("missing CA file: exit %d (%v), want 2", r.code(), r.err)
	}
}
