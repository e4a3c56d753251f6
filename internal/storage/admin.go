package storage

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/depotfs/depot/internal/admin"
	"github.com/depotfs/depot/internal/metrics"
)

// newAdmin makes the node's metrics registry and admin endpoints and registers the gRPC
// health service on the node's gRPC server (whether or not http.admin_port is set).
func (s *Server) newAdmin() error {
	reg := metrics.NewRegistry(s.log.With("component", "metrics"))
	if err := reg.Register(newNodeMetrics(s)); err != nil {
		return err
	}
	s.admin = admin.New(admin.Config{Metrics: reg.Handler(), Ready: s.ready, Logger: s.log.With("component", "admin")})
	s.admin.Register(s.grpcSrv)
	return nil
}

// startAdmin binds the admin listener on bind_addr:http.admin_port (none when the port is 0
// and Config.AdminAnyPort is off) and starts following readiness.
func (s *Server) startAdmin() error {
	sc := s.cfg.Storage
	var ln net.Listener
	if sc.HTTP.AdminPort != 0 || s.cfg.AdminAnyPort {
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(sc.BindAddr, strconv.Itoa(sc.HTTP.AdminPort)))
		if err != nil {
			return fmt.Errorf("admin listener (http.admin_port %d): %w", sc.HTTP.AdminPort, err)
		}
	}
	s.admin.Start(ln)
	return nil
}

// AdminAddr returns the admin listener's address, "" when it is off.
func (s *Server) AdminAddr() string { return s.admin.Addr() }

// ready is the node's readiness: every store path meant to take writes takes one, and with
// tracker_server set the node is joined to at least one tracker.
func (s *Server) ready() error {
	var errs []error
	if err := s.store.CheckWritable(); err != nil {
		errs = append(errs, err)
	}
	if s.reporter != nil {
		if err := s.reporter.ready(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ready returns nil while the node is joined to at least one of its trackers (its last join
// or heartbeat there succeeded), else an error with each tracker's last failure.
func (r *reporter) ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.joined) > 0 {
		return nil
	}
	why := make([]string, len(r.trackers))
	for i, t := range r.trackers {
		if err := r.lastErr[t]; err != nil {
			why[i] = t + ": " + err.Error()
		} else {
			why[i] = t + ": not joined yet"
		}
	}
	return fmt.Errorf("joined to none of its trackers (tracker_server): %s", strings.Join(why, "; "))
}
