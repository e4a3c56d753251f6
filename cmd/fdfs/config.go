package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/depotfs/depot/internal/conf"
)

// clientConf holds what fdfs takes from client.conf.
type clientConf struct {
	StorageServer  string   // storage_server (a Depot key): the storage's gRPC HOST:PORT
	TrackerServers []string // tracker_server, repeated
	Secret         string   // http.anti_steal.secret_key
	ConnectTimeout time.Duration
	TLS            bool   // tls_enabled, or set by tls_ca_file
	TLSCAFile      string // tls_ca_file
}

// loadClientConf reads client.conf with conf.LoadClient (FastDFS keys, validation) and
// the Depot key storage_server, which conf.Client does not carry yet.
func loadClientConf(path string) (clientConf, error) {
	c, err := conf.LoadClient(path, nil)
	if err != nil {
		return clientConf{}, err
	}
	out := clientConf{TrackerServers: c.TrackerServers, Secret: c.AntiSteal.SecretKey, ConnectTimeout: c.ConnectTimeout,
		TLS: c.UseTLS(), TLSCAFile: c.TLSCAFile}
	err = readConfFile(path, 0, func(key, value string) error {
		if key != "storage_server" {
			return nil
		}
		if err := conf.CheckHostPort(value); err != nil {
			return fmt.Errorf("storage_server: %w", err)
		}
		out.StorageServer = value
		return nil
	})
	return out, err
}

// readConfFile calls set for each `key = value` line of a FastDFS-style file: `#` comments,
// `#include file` relative to the including file, sections skipped.
func readConfFile(path string, depth int, set func(key, value string) error) error {
	if depth > 8 {
		return fmt.Errorf("%s: #include nested too deep", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if target, ok := strings.CutPrefix(line, "#include "); ok {
			target = strings.TrimSpace(target)
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(path), target)
			}
			if err := readConfFile(target, depth+1, set); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
			continue
		}
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if err := set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return sc.Err()
}
