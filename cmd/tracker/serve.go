package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
)

// metaFile is the tracker's bbolt file below base_path/data.
const metaFile = tracker.MetaFile

// listening is what serve reports once it accepts connections.
type listening struct{ GRPC, Gossip, Raft string }

// serve loads tracker.conf, starts the tracker and blocks until ctx is done.
func serve(ctx context.Context, confPath string, stderr io.Writer, ready func(listening)) error {
	boot := slog.New(slog.NewTextHandler(stderr, nil))
	tc, err := conf.LoadTracker(confPath, boot)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: conf.SlogLevel(tc.LogLevel)}))
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
	if ready != nil {
		info, _ := node.Server().TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
		ready(listening{GRPC: node.Addr(), Gossip: info.GetGossipAddr(), Raft: info.GetRaftAddr()})
	}
	select {
	case <-ctx.Done():
	case err = <-node.Done():
		log.Error("tracker gRPC server stopped", "err", err)
	}
	cerr := node.Close()
	log.Info("tracker stopped")
	if err != nil {
		return err
	}
	return cerr
}
