package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/proto/trackerpb"
)

// paramsTimeout bounds the wait for one tracker's parameters at startup.
const paramsTimeout = 3 * time.Second

// loadTrackerParams asks the trackers, in order, for the parameters storages load
// (load_fdfs_parameters_from_tracker) and returns the first answer.
func loadTrackerParams(ctx context.Context, creds credentials.TransportCredentials, trackers []string, bindAddr string, clientBind bool) (map[string]string, error) {
	if len(trackers) == 0 {
		return nil, errors.New("load_fdfs_parameters_from_tracker: no tracker_server")
	}
	var errs []error
	for _, addr := range trackers {
		conn, err := grpc.NewClient(addr, dialOptions(creds, bindAddr, clientBind, time.Second)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("tracker %s: %w", addr, err))
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, paramsTimeout)
		resp, err := trackerpb.NewTrackerServiceClient(conn).GetParameters(cctx, &trackerpb.GetParametersRequest{}, grpc.WaitForReady(true))
		cancel()
		conn.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("tracker %s: %w", addr, err))
			continue
		}
		m := make(map[string]string, len(resp.GetParams()))
		for _, p := range resp.GetParams() {
			m[p.GetKey()] = p.GetValue()
		}
		return m, nil
	}
	return nil, errors.Join(errs...)
}

// paramSeconds reads a parameter holding whole seconds.
func paramSeconds(params map[string]string, key string) (time.Duration, bool) {
	v, ok := params[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// applyTrackerParams loads the parameters from the trackers of mod_fastdfs.conf (else of
// storage.conf) and applies storage_sync_file_max_delay to the HTTP module. When no tracker
// answers, the values of mod_fastdfs.conf stay and a warning is logged: the node still
// serves its own files.
func (s *Server) applyTrackerParams(cfg *httpd.Config, mod *conf.Mod) {
	sc := s.cfg.Storage
	trackers := mod.TrackerServers
	if len(trackers) == 0 {
		trackers = sc.TrackerServers
	}
	params, err := loadTrackerParams(context.Background(), s.dialCreds, trackers, sc.BindAddr, sc.ClientBind)
	if err != nil {
		s.log.Warn("load_fdfs_parameters_from_tracker: no tracker answered; using mod_fastdfs.conf", "err", err)
		return
	}
	if d, ok := paramSeconds(params, "storage_sync_file_max_delay"); ok && d > 0 {
		cfg.SyncFileMaxDelay = d
	}
	s.log.Info("parameters loaded from tracker", "storage_sync_file_max_delay", cfg.SyncFileMaxDelay,
		"use_storage_id", params["use_storage_id"])
}

// identityAddr is the address the node's identity derives from: bind_addr, else (with
// tracker_server lines and no storage id) the local address of a connection to the first
// tracker that accepts one, which is the address that tracker sees; "" leaves the choice
// to the host's interfaces.
func identityAddr(sc conf.Storage) string {
	if sc.BindAddr != "" || len(sc.TrackerServers) == 0 || (sc.UseStorageID && sc.ServerID != "") {
		return sc.BindAddr
	}
	for _, t := range sc.TrackerServers {
		c, err := net.DialTimeout("tcp", t, paramsTimeout)
		if err != nil {
			continue
		}
		a := c.LocalAddr().(*net.TCPAddr).IP
		c.Close()
		if ip, ok := netip.AddrFromSlice(a); ok && ip.Unmap().Is4() {
			return ip.Unmap().String()
		}
	}
	return ""
}
