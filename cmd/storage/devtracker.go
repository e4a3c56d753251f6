package main

import (
	"context"
	"time"

	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
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

// startDevTracker starts the single tracker of "storage -dev" from tracker.conf (its own
// leader, state in a bbolt file below its base_path) and serves it until Close.
func startDevTracker(confPath string, stderr io.Writer) (*tracker.Node, error) {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	tc, err := conf.LoadTracker(confPath, boot)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: conf.SlogLevel(tc.LogLevel)})).With("component", "tracker")
	node, err := tracker.StartNode(tracker.NodeConfig{Tracker: *tc, Single: true, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("embedded tracker (%s): %w", confPath, err)
	}
	return node, nil
}

func printDevTrackerHelp(w io.Writer, trackerAddr, clientConf string) {
	fmt.Fprintf(w, `
The node reports to the tracker embedded in this process:
  tracker %[1]s    client.conf %[2]s
  go run ./cmd/fdfs -c %[2]s upload README.md    # the tracker picks the storage
  go run ./cmd/fdfs -c %[2]s monitor             # groups, storages and their state
`, trackerAddr, clientConf)
}

// waitActive polls the embedded tracker until a storage is ACTIVE on it (the node's first
// heartbeat), so that the commands printed next work at once; it gives up after timeout.
func waitActive(ctx context.Context, trk *tracker.Node, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := trk.Server().ListGroups(ctx, &trackerpb.ListGroupsRequest{}); err == nil {
			for _, g := range resp.GetGroups() {
				for _, s := range g.GetStorages() {
					if s.GetStatusName() == "ACTIVE" {
						return true
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}
