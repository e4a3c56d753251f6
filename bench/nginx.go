package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const nginxConf = `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s;
        location /group1/M00/ { alias %[3]s/data/; }
    }
}
`

// startNginx starts nginx with its own prefix and config, one worker, pinned to CPU 0.
func startNginx(ctx context.Context, bin, prefix, store string) (*server, error) {
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, prefix, addr, store)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "taskset", "-c", "0", bin, "-p", prefix, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	s := &server{name: "nginx", addr: addr, cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("nginx did not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.rss = func() int64 {
		w, err := nginxWorker(prefix)
		if err != nil {
			return -1
		}
		return vmRSS(w)
	}
	return s, nil
}

// nginxWorker returns the pid of the (one) worker: the child of the master in nginx.pid.
func nginxWorker(prefix string) (int, error) {
	b, err := os.ReadFile(filepath.Join(prefix, "nginx.pid"))
	if err != nil {
		return 0, err
	}
	master := strings.TrimSpace(string(b))
	kids, err := os.ReadFile("/proc/" + master + "/task/" + master + "/children")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(kids))
	if len(f) == 0 {
		return 0, errNoWorker
	}
	return strconv.Atoi(f[0])
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
