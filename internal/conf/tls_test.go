package conf

import (
	"path/filepath"
	"testing"
)

// TestTLSKeys: the TLS file keys of storage.conf, tracker.conf and client.conf load, resolve
// against the file's directory, and a certificate without its key (or the reverse) is refused
// at its file:line.
func TestTLSKeys(t *testing.T) {
	storage := func(p string) error { _, err := LoadStorage(p, nil); return err }
	tracker := func(p string) error { _, err := LoadTracker(p, nil); return err }
	for _, tc := range []struct {
		name, file, text string
		load             func(string) error
		key              string
		line             int
	}{
		{"storage grpc cert alone", "storage.conf", "base_path=/a\ngroup_name=g\ntls_cert_file = c.pem\n", storage, "tls_cert_file", 3},
		{"storage http key alone", "storage.conf", "base_path=/a\ngroup_name=g\n\nhttp.tls.key_file = k.pem\n", storage, "http.tls.key_file", 4},
		{"tracker cert alone", "tracker.conf", "base_path=/a\ntls_cert_file = c.pem\n", tracker, "tls_cert_file", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, tc.load, tc.file, tc.text, ErrRequired, tc.key, tc.line)
		})
	}

	dir := writeFiles(t, map[string]string{
		"storage.conf": "base_path=/a\ngroup_name=g\ntls_cert_file = tls/node.pem\ntls_key_file = /etc/k.pem\ntls_ca_file = ca.pem\n" +
			"http.tls.cert_file = web.pem\nhttp.tls.key_file = web-key.pem\n",
		"tracker.conf": "base_path=/a\ntls_cert_file = t.pem\ntls_key_file = t-key.pem\ntls_ca_file = ca.pem\n",
		"client.conf":  "tls_ca_file = ca.pem\n",
		"client2.conf": "tls_enabled = true\n",
		"plain.conf":   "base_path=/a\ngroup_name=g\n",
	})
	at := func(name string) string { return filepath.Join(dir, name) }
	s, err := LoadStorage(at("storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (TLS{CertFile: at("tls/node.pem"), KeyFile: "/etc/k.pem", CAFile: at("ca.pem")}); s.TLS != want {
		t.Errorf("storage tls_* = %+v, want %+v", s.TLS, want)
	}
	if want := (TLS{CertFile: at("web.pem"), KeyFile: at("web-key.pem")}); s.HTTP.TLS != want || !s.HTTP.TLS.Enabled() {
		t.Errorf("storage http.tls.* = %+v, want %+v", s.HTTP.TLS, want)
	}
	p, err := LoadStorage(at("plain.conf"), nil)
	if err != nil || p.TLS.Enabled() || p.HTTP.TLS.Enabled() {
		t.Fatalf("no TLS keys: %+v %+v, %v; want TLS off", p.TLS, p.HTTP.TLS, err)
	}
	tr, err := LoadTracker(at("tracker.conf"), nil)
	if err != nil || tr.TLS != (TLS{CertFile: at("t.pem"), KeyFile: at("t-key.pem"), CAFile: at("ca.pem")}) {
		t.Fatalf("tracker tls_* = %+v, %v", tr.TLS, err)
	}
	c, err := LoadClient(at("client.conf"), nil)
	if err != nil || c.TLSCAFile != at("ca.pem") || !c.UseTLS() {
		t.Fatalf("client tls_ca_file: %+v, %v", c, err)
	}
	c2, err := LoadClient(at("client2.conf"), nil)
	if err != nil || !c2.UseTLS() || c2.TLSCAFile != "" {
		t.Fatalf("client tls_enabled: %+v, %v", c2, err)
	}
}
