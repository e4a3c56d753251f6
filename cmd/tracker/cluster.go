package main

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
)

var _ tracker.Coordinator = (*consensus.Coordinator)(nil)

// cluster builds the tracker's consensus coordinator from tracker.conf.
type cluster struct {
	tc       *conf.Tracker
	host     string // advertised IPv4 address; gossip and Raft bind to it
	grpcAddr string
	dataDir  string
	log      *slog.Logger
	timers   consensus.Timers // zero: production timers
}

func (cl cluster) coordinator(a tracker.Applier) (tracker.Coordinator, error) {
	gossip, raftPort := cl.tc.GossipPort, cl.tc.RaftPort
	if gossip == 0 {
		gossip = cl.tc.Port + 1
	}
	if raftPort == 0 {
		raftPort = cl.tc.Port + 2
	}
	c, err := consensus.New(consensus.Config{
		NodeID: cl.grpcAddr, BindAddr: cl.host, GossipPort: gossip, RaftPort: raftPort,
		GRPCAddr: cl.grpcAddr, DataDir: cl.dataDir, Expect: cl.tc.ClusterExpect,
		Resolve: resolveGossip, Applier: a, Logger: cl.log, Timers: cl.timers,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// resolveGossip asks the tracker at grpcAddr for its gossip address.
func resolveGossip(ctx context.Context, grpcAddr string) (string, error) {
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := trackerpb.NewTrackerServiceClient(conn).TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
	if err != nil {
		return "", err
	}
	return info.GetGossipAddr(), nil
}
