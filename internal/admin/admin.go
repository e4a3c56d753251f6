package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// Metrics serves /metrics; nil = none (404, or what Page answers there).
	Metrics http.Handler
	// Page serves every path the endpoints below do not take (the tracker's cluster page);
	// nil = 404 there.
	Page http.Handler
	// Ready is the node's readiness check: nil when ready, else an error saying why not
	// (served as the 503 body). Nil = always ready. It may be called from several goroutines
	// (one at a time) and may touch the disk.
	Ready func() error
	// Poll is how often the gRPC health status follows Ready (0 = 1 s).
	Poll time.Duration
	// Timeout bounds one Ready call (0 = 5 s); past it the node reads as not ready.
	Timeout time.Duration
	Logger  *slog.Logger // nil = discard
}

// Server is a node's admin endpoints and gRPC health service. Its methods are safe for
// concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	health *health.Server
	mux    *http.ServeMux

	mu      sync.Mutex
	running chan struct{} // closed when the Ready call in flight returns; nil when none
	last    error         // what the last Ready call returned
	serving bool          // the gRPC status last set
	closed  bool

	httpSrv *http.Server
	ln      net.Listener
	stop    chan struct{}
	wg      sync.WaitGroup
}

// New returns a Server; the gRPC status is NOT_SERVING until the first check passes.
func New(cfg Config) *Server {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, health: health.NewServer(), mux: http.NewServeMux(), stop: make(chan struct{})}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.mux.HandleFunc("GET /healthz", s.serveHealthz)
	s.mux.HandleFunc("GET /readyz", s.serveReadyz)
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.Page != nil {
		s.mux.Handle("/", cfg.Page)
	}
	return s
}

// Register registers the gRPC health service on g.
func (s *Server) Register(g *grpc.Server) { healthpb.RegisterHealthServer(g, s.health) }

// Handler returns the admin endpoints' handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Start starts following readiness for the gRPC health service and, when ln is not nil,
// serves the admin endpoints on ln until Close.
func (s *Server) Start(ln net.Listener) {
	s.Check()
	s.wg.Go(s.follow)
	if ln == nil {
		return
	}
	s.ln = ln
	s.httpSrv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.wg.Go(func() {
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "addr", ln.Addr().String(), "err", err)
		}
	})
	paths := "/metrics /healthz /readyz"
	if s.cfg.Page != nil {
		paths += " /cluster/"
	}
	s.log.Info("admin endpoints ready", "addr", ln.Addr().String(), "paths", paths)
}

// Addr returns the admin listener's address, "" when it has none.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close sets every gRPC health status to NOT_SERVING, stops following readiness and stops
// the admin listener (requests in flight get 2 s).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.health.Shutdown()
	close(s.stop)
	var err error
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = s.httpSrv.Shutdown(ctx); err != nil {
			s.httpSrv.Close()
			err = fmt.Errorf("admin server %s: %w", s.Addr(), err)
		}
	}
	s.wg.Wait()
	return err
}

// follow runs the readiness check every Poll until Close.
func (s *Server) follow() {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Check()
		}
	}
}

// Check runs the readiness check (or waits for the one running), sets the gRPC health status
// from it and returns it.
func (s *Server) Check() error {
	err := s.ready()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return err
	}
	serving := err == nil
	if serving != s.serving {
		s.serving = serving
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if serving {
			st = healthpb.HealthCheckResponse_SERVING
			s.log.Info("node ready")
		} else {
			s.log.Warn("node not ready", "reason", err)
		}
		s.health.SetServingStatus("", st)
	}
	return err
}

// ready runs Config.Ready, one call at a time, bounded by Config.Timeout.
func (s *Server) ready() error {
	s.mu.Lock()
	done := s.running
	if done == nil {
		done = make(chan struct{})
		s.running = done
		go func() {
			err := s.cfg.Ready()
			s.mu.Lock()
			s.last, s.running = err, nil
			s.mu.Unlock()
			close(done)
		}()
	}
	s.mu.Unlock()
	t := time.NewTimer(s.cfg.Timeout)
	defer t.Stop()
	select {
	case <-done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.last
	case <-t.C:
		return fmt.Errorf("the readiness check did not answer within %v", s.cfg.Timeout)
	}
}

func (s *Server) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.Check(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ready")
}
