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

	"github.com/depotfs/depot/bench/internal/benchenv"
)

const nginxConf = `daemon off;
master_process on;
worker_processes %[4]d;
worker_rlimit_nofile 30000;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 20000; }
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

// startNginx starts nginx with its own prefix and config and the given number of workers:
// one worker pinned to CPU 0, or two unpinned.
func startNginx(ctx context.Context, bin, prefix, store string, workers int) (*server, error) {
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, prefix, addr, store, workers)), 0o644); err != nil {
		return nil, err
	}
	args := []string{bin, "-p", prefix, "-c", conf}
	if workers == 1 {
		args = append([]string{"taskset", "-c", "0"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	terminate(cmd)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	s := &server{name: fmt.Sprintf("nginx (%d worker)", workers), addr: addr, cmd: cmd}
	if workers > 1 {
		s.name = fmt.Sprintf("nginx (%d workers)", workers)
	}
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
	s.cpu = func() int64 { // the workers' CPU time, summed
		ws, err := nginxWorkers(prefix)
		if err != nil {
			return -1
		}
		var sum int64
		for _, w := range ws {
			sum += benchenv.CPUTicks(w)
		}
		return sum
	}
	s.rss = func() int64 { // the workers' resident sets, summed
		ws, err := nginxWorkers(prefix)
		if err != nil {
			return -1
		}
		var sum int64
		for _, w := range ws {
			sum += benchenv.RSS(w)
		}
		return sum
	}
	return s, nil
}

// nginxWorkers returns the pids of the workers: the children of the master in nginx.pid.
func nginxWorkers(prefix string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(prefix, "nginx.pid"))
	if err != nil {
		return nil, err
	}
	master := strings.TrimSpace(string(b))
	kids, err := os.ReadFile("/proc/" + master + "/task/" + master + "/children")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(kids)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		return nil, errNoWorker
	}
	return pids, nil
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
