// Package certs loads the TLS material of Depot's servers and clients from PEM files: a
// server's certificate and key, which Reload swaps while the server runs (SIGHUP), and the CA
// bundle a client or a node trusts for the peers it connects to.
//
// A Pair is read once per handshake through tls.Config.GetCertificate, so connections that
// start after a Reload use the new certificate and connections already open keep theirs.
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// ErrNoCert is wrapped by the errors of files that hold no usable certificate.
var ErrNoCert = errors.New("certs: no certificate")

// Pair is a server certificate with its private key. It is safe for concurrent use.
type Pair struct {
	cur atomic.Pointer[tls.Certificate]
}

// LoadPair reads a PEM certificate chain and its private key.
func LoadPair(certFile, keyFile string) (*Pair, error) {
	p := &Pair{}
	if err := p.Reload(certFile, keyFile); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload reads certFile and keyFile and, when they load and match, uses them for the
// handshakes that start from now on. On an error the certificate in use stays.
func (p *Pair) Reload(certFile, keyFile string) error {
	c, err := Read(certFile, keyFile)
	if err != nil {
		return err
	}
	p.Use(c)
	return nil
}

// Read reads a PEM certificate chain and its private key, for Use.
func Read(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %q with key %q: %w", certFile, keyFile, err)
	}
	return &c, nil
}

// Use makes c the certificate of the handshakes that start from now on.
func (p *Pair) Use(c *tls.Certificate) { p.cur.Store(c) }

// Certificate returns the certificate in use.
func (p *Pair) Certificate() *tls.Certificate { return p.cur.Load() }

// GetCertificate is for tls.Config.GetCertificate.
func (p *Pair) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.cur.Load(), nil
}

// ServerConfig returns a server tls.Config presenting p's certificate (TLS 1.2 and later),
// offering the ALPN protocols protos ("h2" for gRPC, "http/1.1" for the download port).
func (p *Pair) ServerConfig(protos ...string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: p.GetCertificate, NextProtos: protos}
}

// ClientConfig returns a client tls.Config that trusts the certificates of caFile (PEM, one
// or more), or the system's roots when caFile is "".
func ClientConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tls CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls CA file %q: %w in PEM form", caFile, ErrNoCert)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
