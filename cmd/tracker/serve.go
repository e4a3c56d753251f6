package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/shutdown"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
)

// metaFile is the tracker's bbolt file below base_path/data.
const metaFile = tracker.MetaFile

// listening is what serve reports once it accepts connections.
type listening struct{ GRPC, Gossip, Raft string }

// serve loads tracker.conf, starts the tracker and blocks until ctx is done or SIGTERM or
// SIGINT comes: then it stops the node (shutdown.Stop), a second signal cutting the wait short. SIGHUP
// rereads tracker.conf and applies log_level and allow_hosts (reload).
func serve(ctx context.Context, confPath string, stderr io.Writer, ready func(listening)) error {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	tc, values, err := conf.LoadTrackerValues(confPath, boot)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	level.Set(conf.SlogLevel(tc.LogLevel))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	var ids *conf.StorageIDs
	if tc.UseStorageID {
		if ids, err = conf.LoadStorageIDs(tc.StorageIDsFilename); err != nil {
			return err
		}
	}
	node, err := tracker.StartNode(tracker.NodeConfig{Tracker: *tc, StorageIDs: ids, Logger: log})
	if err != nil {
		return err
	}
	// Registered before ready: a signal sent once the tracker is up is ours.
	hup, term := make(chan os.Signal, 1), make(chan os.Signal, 2)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(hup)
	defer signal.Stop(term)
	if ready != nil {
		info, _ := node.Server().TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
		ready(listening{GRPC: node.Addr(), Gossip: info.GetGossipAddr(), Raft: info.GetRaftAddr()})
	}
	signals := 0
	for done := false; !done; {
		select {
		case <-hup:
			reload(confPath, node, level, values, log)
		case <-term:
			signals++
			done = true
		case <-ctx.Done():
			done = true
		case err = <-node.Done():
			log.Error("tracker gRPC server stopped", "err", err)
			done = true
		}
	}
	cerr := shutdown.Stop(node, "tracker", term, signals, log)
	if err != nil {
		return err
	}
	return cerr
}

// reload rereads tracker.conf: a file that does not load, or an allow_hosts the node refuses
// (both name the file and line), changes nothing. Otherwise log_level and allow_hosts take
// their new values, in running too, and any other changed key is logged as needing a restart.
func reload(confPath string, node *tracker.Node, level *slog.LevelVar, running conf.Values, log *slog.Logger) {
	tc, values, err := conf.LoadTrackerValues(confPath, log)
	if err == nil {
		err = node.Reload(*tc)
	}
	if err != nil {
		log.Error("SIGHUP: reload refused, the settings in force stay", "err", err)
		return
	}
	level.Set(conf.SlogLevel(tc.LogLevel))
	var live []string
	for _, k := range values.Changed(running) {
		if !tracker.LiveKey(k) {
			log.Warn("SIGHUP: changed key needs a restart; the running value stays", "file", tc.Path, "key", k)
			continue
		}
		live = append(live, k)
		running[k] = values[k]
	}
	log.Info("SIGHUP: configuration reloaded", "applied", live)
}
