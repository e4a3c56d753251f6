package conf

import "fmt"

// TLS holds the TLS file keys of a node (Depot keys; FastDFS has none). On tracker.conf and
// storage.conf they are tls_cert_file, tls_key_file and tls_ca_file, for gRPC; on
// storage.conf again as http.tls.cert_file, http.tls.key_file and http.tls.ca_file for the
// download port. Relative names resolve against the file's directory.
type TLS struct {
	CertFile string // PEM certificate chain the server presents; "" = no TLS
	KeyFile  string // its PEM private key (required with CertFile)
	// CAFile is a PEM bundle of the CAs trusted for the peers this node connects to ("" =
	// the system's roots).
	CAFile string
}

// Enabled reports whether the server side serves TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

func (t *TLS) bind(b *binder, prefix string) {
	b.str(prefix+"cert_file", &t.CertFile)
	b.str(prefix+"key_file", &t.KeyFile)
	b.str(prefix+"ca_file", &t.CAFile)
}

func (t *TLS) resolve(dir string) {
	t.CertFile = resolvePath(dir, t.CertFile)
	t.KeyFile = resolvePath(dir, t.KeyFile)
	t.CAFile = resolvePath(dir, t.CAFile)
}

// validate checks that the certificate and key come together; the error names the key that
// is there (so that it has a file:line).
func (t TLS) validate(prefix string) error {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		return keyErr(prefix+"cert_file", fmt.Errorf("needs %skey_file as well: %w", prefix, ErrRequired))
	case t.CertFile == "" && t.KeyFile != "":
		return keyErr(prefix+"key_file", fmt.Errorf("needs %scert_file as well: %w", prefix, ErrRequired))
	}
	return nil
}
