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
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/internal/tracker"
	"github.com/depotfs/depot/proto/trackerpb"
)

// metaFile is the tracker's bbolt file below base_path/data.
const metaFile = "depot-tracker.db"

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
	dataDir := filepath.Join(tc.BasePath, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	db, err := meta.Open(filepath.Join(dataDir, metaFile), meta.Options{Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	lis, err := net.Listen("tcp", net.JoinHostPort(tc.BindAddr, strconv.Itoa(tc.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer lis.Close()
	host := advertiseHost(tc.BindAddr)
	cl := cluster{tc: tc, host: host, grpcAddr: net.JoinHostPort(host, strconv.Itoa(tc.Port)), dataDir: dataDir, log: log}
	srv, err := tracker.New(tracker.Config{
		Tracker: *tc, StorageIDs: ids, Meta: db, Addr: cl.grpcAddr,
		NewCoordinator: cl.coordinator, Logger: log,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.Coordinator().AddPeers(tc.ClusterSeeds)
	allow, err := tracker.ParseAllowHosts(tc.AllowHosts, lookupHost(ctx))
	if err != nil {
		return err
	}
	gs := grpc.NewServer(grpc.ConnectionTimeout(tc.ConnectTimeout), grpc.UnaryInterceptor(allow.UnaryInterceptor()))
	srv.Register(gs)
	info, _ := srv.TrackerInfo(ctx, &trackerpb.TrackerInfoRequest{})
	log.Info("tracker ready", "grpc", lis.Addr().String(), "advertised", cl.grpcAddr,
		"gossip", info.GetGossipAddr(), "raft", info.GetRaftAddr(), "data", dataDir)
	if ready != nil {
		ready(listening{GRPC: lis.Addr().String(), Gossip: info.GetGossipAddr(), Raft: info.GetRaftAddr()})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gs.Serve(lis) })
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		stopGRPC(gs, tc.NetworkTimeout)
		return nil
	})
	err = g.Wait()
	log.Info("tracker stopped")
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

// lookupHost resolves allow_hosts names, each within 5 s.
func lookupHost(ctx context.Context) func(string) ([]string, error) {
	return func(host string) ([]string, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return net.DefaultResolver.LookupHost(ctx, host)
	}
}

// stopGRPC lets running calls finish for up to wait, then cuts them.
func stopGRPC(gs *grpc.Server, wait time.Duration) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(min(wait, 5*time.Second)):
		gs.Stop()
	}
}

// advertiseHost is the address other trackers and storages reach this tracker at:
// bind_addr, or with none the host's outbound IPv4 address (127.0.0.1 when it has no route).
func advertiseHost(bind string) string {
	if bind != "" && bind != "0.0.0.0" {
		return bind
	}
	c, err := net.Dial("udp4", "192.0.2.1:9") // no packet is sent: this only picks a route
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String()
}
