package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clientConf holds the client.conf keys fdfs uses.
type clientConf struct {
	StorageServer  string   // storage_server (a Depot key): the storage's gRPC HOST:PORT
	TrackerServers []string // tracker_server, repeated
	Secret         string   // http.anti_steal.secret_key
	ConnectTimeout time.Duration
}

// loadClientConf reads the keys fdfs needs from a FastDFS-style client.conf: `key = value`
// lines, `#` comments, `#include file` relative to the including file, last value wins
// except for the repeated tracker_server.
func loadClientConf(path string) (clientConf, error) {
	var c clientConf
	err := readConfFile(path, 0, func(key, value string) error {
		switch key {
		case "storage_server":
			c.StorageServer = value
		case "tracker_server":
			c.TrackerServers = append(c.TrackerServers, value)
		case "http.anti_steal.secret_key":
			c.Secret = value
		case "connect_timeout":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return fmt.Errorf("connect_timeout = %q: want seconds", value)
			}
			c.ConnectTimeout = time.Duration(n) * time.Second
		}
		return nil
	})
	return c, err
}

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
