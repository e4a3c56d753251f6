package storage

import (
	"crypto/tls"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/certs"
	"github.com/depotfs/depot/internal/conf"
)

// ErrTLSSwitch is returned by Reload for a configuration that turns TLS on or off: the
// listeners are made with or without it at start.
var ErrTLSSwitch = errors.New("turning TLS on or off needs a restart")

// loadTLS reads the node's certificates (tls_cert_file for gRPC, http.tls.cert_file for the
// download port) and makes the credentials for its own connections to trackers and peers:
// TLS trusting tls_ca_file when the node serves gRPC over TLS, plaintext otherwise (a
// cluster runs gRPC over TLS everywhere or nowhere).
func (s *Server) loadTLS() error {
	sc := s.cfg.Storage
	var err error
	if sc.TLS.Enabled() {
		if s.grpcCert, err = certs.LoadPair(sc.TLS.CertFile, sc.TLS.KeyFile); err != nil {
			return fmt.Errorf("tls_cert_file: %w", err)
		}
		cc, err := certs.ClientConfig(sc.TLS.CAFile)
		if err != nil {
			return fmt.Errorf("tls_ca_file: %w", err)
		}
		s.dialCreds = credentials.NewTLS(cc)
	} else {
		s.dialCreds = insecure.NewCredentials()
	}
	if sc.HTTP.TLS.Enabled() {
		if s.httpCert, err = certs.LoadPair(sc.HTTP.TLS.CertFile, sc.HTTP.TLS.KeyFile); err != nil {
			return fmt.Errorf("http.tls.cert_file: %w", err)
		}
	}
	return nil
}

// grpcServerOptions serves gRPC over TLS with tls_cert_file, when set.
func (s *Server) grpcServerOptions() []grpc.ServerOption {
	if s.grpcCert == nil {
		return nil
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(s.grpcCert.ServerConfig("h2")))}
}

// httpTLS is the download port's TLS config, or nil for plain HTTP.
func (s *Server) httpTLS() *tls.Config {
	if s.httpCert == nil {
		return nil
	}
	return s.httpCert.ServerConfig("http/1.1")
}

// httpScheme is the scheme, with "://", of the node's download URLs.
func (s *Server) httpScheme() string {
	if s.httpCert != nil {
		return "https://"
	}
	return "http://"
}

// proxyTLS is the client TLS config for https sources in proxy mode: http.tls.ca_file, else
// tls_ca_file, else nil (the system's roots).
func proxyTLS(sc *conf.Storage) (*tls.Config, error) {
	ca, key := sc.HTTP.TLS.CAFile, "http.tls.ca_file"
	if ca == "" {
		ca, key = sc.TLS.CAFile, "tls_ca_file"
	}
	if ca == "" {
		return nil, nil
	}
	c, err := certs.ClientConfig(ca)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return c, nil
}

// reloadTLS rereads the certificate files of sc for the handshakes that start from now on,
// all or none: a file that does not load, or TLS turned on or off, changes nothing.
func (s *Server) reloadTLS(sc *conf.Storage) (commit func(), err error) {
	type swap struct {
		p    *certs.Pair
		c    *tls.Certificate
		name string
	}
	var swaps []swap
	for _, x := range []struct {
		p    *certs.Pair
		t    conf.TLS
		name string
	}{{s.grpcCert, sc.TLS, "tls_cert_file"}, {s.httpCert, sc.HTTP.TLS, "http.tls.cert_file"}} {
		if (x.p != nil) != x.t.Enabled() {
			return nil, fmt.Errorf("%s: %w", x.name, ErrTLSSwitch)
		}
		if x.p == nil {
			continue
		}
		c, err := certs.Read(x.t.CertFile, x.t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", x.name, err)
		}
		swaps = append(swaps, swap{x.p, c, x.name})
	}
	return func() {
		for _, w := range swaps {
			w.p.Use(w.c)
			s.log.Info("TLS certificate reloaded", "key", w.name)
		}
	}, nil
}
