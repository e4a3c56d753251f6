package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/shutdown"
	"github.com/depotfs/depot/internal/storage"
)

type nodeAddrs struct{ GRPC, HTTP string }

// serve loads the config files, starts the node and serves until ctx is done or SIGTERM or
// SIGINT comes: then it stops the node (shutdown.Stop), a second signal cutting the wait short.
// SIGHUP rereads the config files (reloader), SIGUSR1 reopens the log files.
func serve(ctx context.Context, confPath, modPath string, stderr io.Writer, ready func(nodeAddrs)) error {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	sc, sv, err := conf.LoadStorageValues(confPath, boot)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	level.Set(conf.SlogLevel(sc.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if modPath == "" {
		modPath = sc.HTTP.ModFastDFSConf
	}
	var mod *conf.Mod
	var mv conf.Values
	if modPath != "" {
		if mod, mv, err = conf.LoadModValues(modPath, log); err != nil {
			return err
		}
	}
	node, err := storage.New(storage.Config{Storage: *sc, Mod: mod, Logger: log})
	if err != nil {
		return err
	}
	if err := node.Start(); err != nil {
		node.Close()
		return err
	}
	// Registered before ready: a signal sent once the node is up is ours. SIGUSR1 reopens
	// the log files (nginx's convention, on which logrotate's "mv, then kill -USR1" relies).
	usr1, hup, term := make(chan os.Signal, 1), make(chan os.Signal, 1), make(chan os.Signal, 2)
	signal.Notify(usr1, syscall.SIGUSR1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(usr1)
	defer signal.Stop(hup)
	defer signal.Stop(term)
	if ready != nil {
		ready(nodeAddrs{GRPC: node.GRPCAddr(), HTTP: node.HTTPAddr()})
	}
	rl := &reloader{confPath: confPath, modPath: modPath, node: node, level: level, log: log,
		running: sv, runningMod: mv}
	if rl.runningMod == nil {
		rl.runningMod = conf.Values{}
	}
	for {
		select {
		case <-usr1:
			if err := node.Reopen(); err != nil {
				log.Error("SIGUSR1: reopening the log files failed; lines go on to the old file", "err", err)
			} else {
				log.Info("SIGUSR1: log files reopened", "access_log", sc.HTTP.AccessLog)
			}
		case <-hup:
			rl.reload()
		case <-term:
			return shutdown.Stop(node, "storage node", term, 1, log)
		case <-ctx.Done():
			return shutdown.Stop(node, "storage node", term, 0, log)
		}
	}
}

const devStorageConf = `# storage.conf written by "storage -dev": a single node on 127.0.0.1 and its tracker.
# Edit freely; "storage -dev" keeps an existing file. Relative paths are relative to this file.
group_name = group1
bind_addr = 127.0.0.1
port = 23000
base_path = ..
store_path_count = 1
store_path0 = ..
# Depot's HTTP download module (FastDFS needed nginx with fastdfs-nginx-module for this).
http.server_port = 8888
http.mod_fastdfs_conf = mod_fastdfs.conf
# The tracker embedded in "storage -dev" (its tracker.conf is beside this file).
tracker_server = 127.0.0.1:22122
heart_beat_interval = 5
# A dev machine keeps little free space in reserve.
reserved_storage_space = 1%
log_level = info
`

const devModConf = `# mod_fastdfs.conf written by "storage -dev".
base_path = ..
group_name = group1
url_have_group_name = true
store_path_count = 1
store_path0 = ..
response_mode = redirect
storage_sync_file_max_delay = 86400
# To require signed download URLs, set check_token = true and sign with
#   fdfs -storage 127.0.0.1:23000 -secret <secret_key> sign <file id>
http.anti_steal.check_token = false
http.anti_steal.secret_key = change-me
http.anti_steal.token_ttl = 900
`

// writeDevConfig creates dir/conf/{storage,mod_fastdfs}.conf unless they exist and returns
// the storage.conf path.
func writeDevConfig(dir string) (string, error) {
	confDir := filepath.Join(dir, "conf")
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		return "", fmt.Errorf("dev data folder: %w", err)
	}
	for name, body := range map[string]string{"storage.conf": devStorageConf, "mod_fastdfs.conf": devModConf} {
		p := filepath.Join(confDir, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("dev config %s: %w", p, err)
		}
		_, err = f.WriteString(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("dev config %s: %w", p, err)
		}
	}
	return filepath.Join(confDir, "storage.conf"), nil
}

func printDevHelp(w io.Writer, confPath string, a nodeAddrs) {
	fmt.Fprintf(w, `Depot storage is ready (dev mode).
  gRPC  %[1]s    HTTP  http://%[2]s
  config %[3]s (and mod_fastdfs.conf beside it)

Upload and download:
  id=$(go run ./cmd/fdfs -storage %[1]s upload README.md)
  go run ./cmd/fdfs -storage %[1]s download "$id" copy.md
  curl -s http://%[2]s/"$id"

Signed URLs: set http.anti_steal.check_token = true in mod_fastdfs.conf, reload with
  kill -HUP %[4]d
then
  curl -s "http://%[2]s$(go run ./cmd/fdfs -secret change-me sign "$id")"
Stop with Ctrl-C.
`, a.GRPC, a.HTTP, confPath, os.Getpid())
}
