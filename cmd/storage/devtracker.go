package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/tracker"
)

// devTrackerConf is the embedded tracker's tracker.conf written by "storage -dev".
const devTrackerConf = `# tracker.conf written by "storage -dev": the tracker embedded in the dev node.
# Edit freely; "storage -dev" keeps an existing file. Relative paths are relative to this file.
bind_addr = 127.0.0.1
port = 22122
base_path = ../tracker
check_active_interval = 10
reserved_storage_space = 1%
log_level = info
`

// devClientConf is a client.conf for fdfs and applications: they find the node through
// the embedded tracker.
const devClientConf = `# client.conf written by "storage -dev": use it with  fdfs -c <this file> ...
tracker_server = 127.0.0.1:22122
connect_timeout = 5
http.anti_steal.secret_key = change-me
`

// writeDevTrackerConfig creates dir/conf/{tracker,client}.conf unless they exist and
// returns the tracker.conf and client.conf paths.
func writeDevTrackerConfig(dir string) (trackerConf, clientConf string, err error) {
	confDir := filepath.Join(dir, "conf")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return "", "", fmt.Errorf("dev data folder: %w", err)
	}
	trackerConf, clientConf = filepath.Join(confDir, "tracker.conf"), filepath.Join(confDir, "client.conf")
	for p, body := range map[string]string{trackerConf: devTrackerConf, clientConf: devClientConf} {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("dev config %s: %w", p, err)
		}
		_, err = f.WriteString(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", "", fmt.Errorf("dev config %s: %w", p, err)
		}
	}
	return trackerConf, clientConf, nil
}

// devTracker is the in-process tracker of "storage -dev".
type devTracker struct {
	Addr string
	db   *meta.DB
	srv  *tracker.Server
	gs   *grpc.Server
	stop context.CancelFunc
	done chan struct{}
}

// startDevTracker starts a single tracker from tracker.conf (state in a bbolt file below
// its base_path) and serves it until Close.
func startDevTracker(confPath string, stderr io.Writer) (*devTracker, error) {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	tc, err := conf.LoadTracker(confPath, boot)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: conf.SlogLevel(tc.LogLevel)})).With("component", "tracker")
	dataDir := filepath.Join(tc.BasePath, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("tracker data folder: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(tc.BindAddr, fmt.Sprint(tc.Port)))
	if err != nil {
		return nil, fmt.Errorf("embedded tracker (%s): %w", confPath, err)
	}
	db, err := meta.Open(filepath.Join(dataDir, "depot-tracker.db"), meta.Options{Logger: log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	addr := ln.Addr().String()
	srv, err := tracker.New(tracker.Config{Tracker: *tc, Meta: db, Addr: addr, Logger: log})
	if err != nil {
		db.Close()
		ln.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &devTracker{Addr: addr, db: db, srv: srv, gs: grpc.NewServer(), stop: cancel, done: make(chan struct{})}
	srv.Register(d.gs)
	go func() {
		if err := d.gs.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			log.Error("tracker stopped", "err", err)
		}
	}()
	go func() { defer close(d.done); _ = srv.Run(ctx) }()
	log.Info("embedded tracker ready", "grpc", addr, "data", dataDir)
	return d, nil
}

// Close stops the tracker and closes its bbolt file.
func (d *devTracker) Close() error {
	d.gs.GracefulStop()
	d.stop()
	<-d.done
	return errors.Join(d.srv.Close(), d.db.Close())
}

func printDevTrackerHelp(w io.Writer, trackerAddr, clientConf string) {
	fmt.Fprintf(w, `
The node reports to the tracker embedded in this process:
  tracker %[1]s    client.conf %[2]s
  go run ./cmd/fdfs -c %[2]s upload README.md    # the tracker picks the storage
  go run ./cmd/fdfs -c %[2]s monitor             # groups, storages and their state
`, trackerAddr, clientConf)
}
