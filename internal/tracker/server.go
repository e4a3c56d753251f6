package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Config is what New needs.
type Config struct {
	Tracker    conf.Tracker
	StorageIDs *conf.StorageIDs // required when Tracker.UseStorageID
	Meta       *meta.DB         // required; the caller closes it after Close
	// Coordinator, when set, is used as is (the caller closes it). Else NewCoordinator, when
	// set, is called with the Server as Applier; else the tracker is alone (NewSingle).
	Coordinator    Coordinator
	NewCoordinator func(Applier) (Coordinator, error)
	// Addr, GossipAddr and RaftAddr are this tracker's advertised addresses (TrackerInfo).
	Addr, GossipAddr, RaftAddr string
	Now                        func() time.Time // default time.Now
	CheckInterval              time.Duration    // OFFLINE sweep period; default 1 s
	RecentEvents               int              // the cluster page's event ring; default clusterpage.DefaultEvents
	// DialCreds are the credentials of this tracker's calls to the others (a delete passed
	// on to the leader): TLS when the trackers serve TLS. Nil = plaintext.
	DialCreds credentials.TransportCredentials
	Logger    *slog.Logger
}

// Validate checks the parts of c that New relies on.
func (c *Config) Validate() error {
	var errs []error
	if c.Meta == nil {
		errs = append(errs, errors.New("tracker: config: Meta is nil"))
	}
	if c.Tracker.UseStorageID && c.StorageIDs == nil {
		errs = append(errs, errors.New("tracker: config: use_storage_id without StorageIDs"))
	}
	if c.Tracker.CheckActiveInterval <= 0 {
		errs = append(errs, fmt.Errorf("tracker: config: check_active_interval %v", c.Tracker.CheckActiveInterval))
	}
	return errors.Join(errs...)
}

// group is a group and its storages in memory.
type group struct {
	meta     meta.Group
	storages map[string]*meta.Storage // by key
	version  uint64                   // bumped on every membership or status change
}

// sorted returns the group's storages in key order.
func (g *group) sorted() []*meta.Storage {
	out := make([]*meta.Storage, 0, len(g.storages))
	for _, st := range g.storages {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *meta.Storage) int { return compareKeys(a.Key, b.Key) })
	return out
}

// Server is the TrackerService. It is safe for concurrent use.
type Server struct {
	trackerpb.UnimplementedTrackerServiceServer

	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	coord     Coordinator
	ownCoord  bool
	events    *clusterpage.Events // recent warnings and errors for the cluster page
	closeOnce sync.Once

	mu           sync.Mutex
	groups       map[string]*group
	cursors      map[string]uint64
	cursorsDirty bool
	seen         map[string]uint64    // "group\x00key" → group version of its last answer
	savedBeat    map[string]time.Time // "group\x00key" → last heartbeat time written to Meta
	// resumed is when Run last found its sweep late (the process was paused or starved):
	// heartbeats could not be read before it, so the sweep counts no storage's silence
	// from earlier than that.
	resumed time.Time
}

// New loads the state saved in cfg.Meta and returns a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, groups: map[string]*group{},
		seen: map[string]uint64{}, savedBeat: map[string]time.Time{},
		events: clusterpage.NewEvents(cfg.RecentEvents)}
	if err := s.load(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Coordinator != nil:
		s.coord = cfg.Coordinator
	case cfg.NewCoordinator != nil:
		c, err := cfg.NewCoordinator(s)
		if err != nil {
			return nil, fmt.Errorf("tracker: coordinator: %w", err)
		}
		s.coord, s.ownCoord = c, true
	default:
		s.coord, s.ownCoord = NewSingle(cfg.Addr, s), true
	}
	return s, nil
}

func (s *Server) load() error {
	groups, err := s.cfg.Meta.Groups()
	if err != nil {
		return fmt.Errorf("tracker: loading groups: %w", err)
	}
	for _, g := range groups {
		s.groups[g.Name] = &group{meta: g, storages: map[string]*meta.Storage{}}
	}
	storages, err := s.cfg.Meta.Storages()
	if err != nil {
		return fmt.Errorf("tracker: loading storages: %w", err)
	}
	for _, st := range storages {
		g := s.groups[st.Group]
		if g == nil {
			g = &group{meta: meta.Group{Name: st.Group, StorePathCount: st.StorePathCount, SubdirCount: st.SubdirCount}, storages: map[string]*meta.Storage{}}
			s.groups[st.Group] = g
		}
		st := st
		g.storages[st.Key] = &st
	}
	if s.cursors, err = s.cfg.Meta.Cursors(); err != nil {
		return fmt.Errorf("tracker: loading cursors: %w", err)
	}
	s.log.Info("tracker state loaded", "groups", len(groups), "storages", len(storages))
	return nil
}

// Register registers the TrackerService on g.
func (s *Server) Register(g *grpc.Server) { trackerpb.RegisterTrackerServiceServer(g, s) }

// Coordinator returns the coordinator in use.
func (s *Server) Coordinator() Coordinator { return s.coord }

// Run marks storages OFFLINE every CheckInterval (and, on the leader, assigns trunk
// servers) until ctx ends, then saves the cursors.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	last := s.now()
	// Silence counts from now: a restarted tracker read no heartbeat while it was down, and
	// the storages' first ones after its restart may wait for their reconnect backoff.
	// Counting from the saved times marked live storages OFFLINE at the first sweep, and
	// clients asking this tracker heard "no storage available" until they joined again.
	s.mu.Lock()
	s.resumed = last
	s.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			s.saveCursors()
			return nil
		case <-t.C:
			last = s.noteLate(last)
			s.Sweep()
			s.AssignTrunkServers(ctx)
		}
	}
}

// noteLate is called at each sweep of Run with the time of the one before. A sweep late by
// more than half of check_active_interval means this tracker did not run for a while (a
// paused VM or process, a starved CPU) and read no heartbeat meanwhile: the ones the
// storages sent are still queued. Counting that time as the storages' silence would mark
// every one OFFLINE at once, so from now on silence counts only from this moment. (A
// smaller lateness, however often, changes nothing: a tracker that is merely slow must
// still mark dead storages OFFLINE.)
func (s *Server) noteLate(prev time.Time) time.Time {
	now := s.now()
	if late := now.Sub(prev) - s.cfg.CheckInterval; late > s.cfg.Tracker.CheckActiveInterval/2 {
		s.mu.Lock()
		s.resumed = now
		s.mu.Unlock()
		s.log.Warn("tracker sweep ran late: storages' silence counts from now", "late", late)
	}
	return now
}

// Sweep marks OFFLINE every ACTIVE or ONLINE storage whose last heartbeat is at least
// check_active_interval old (or, when Run found itself late, that long before it resumed),
// and saves the cursors. Run calls it; tests may too.
func (s *Server) Sweep() {
	now := s.now()
	s.mu.Lock()
	var changed []meta.Storage
	for _, g := range s.groups {
		for _, st := range g.storages {
			heard := st.LastHeartbeat
			if s.resumed.After(heard) {
				heard = s.resumed
			}
			if (st.Status == meta.StatusActive || st.Status == meta.StatusOnline) &&
				now.Sub(heard) >= s.cfg.Tracker.CheckActiveInterval {
				st.Status = meta.StatusOffline
				g.version++
				changed = append(changed, st.Clone())
				s.log.Info("storage offline", "group", st.Group, "storage", st.Key, "last_heartbeat", st.LastHeartbeat)
				s.event(clusterpage.LevelWarn, st.Group, st.Key, "went OFFLINE",
					offlineDetail(now.Sub(st.LastHeartbeat).Round(100*time.Millisecond), s.cfg.Tracker.CheckActiveInterval))
			}
		}
	}
	if len(changed) > 0 {
		if err := s.cfg.Meta.PutStorages(changed); err != nil {
			s.log.Error("saving offline storages", "err", err)
			s.event(clusterpage.LevelError, "", "", "OFFLINE states not saved", err.Error())
		}
	}
	s.mu.Unlock()
	s.saveCursors()
}

func (s *Server) saveCursors() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cursorsDirty {
		return
	}
	if err := s.cfg.Meta.PutCursors(s.cursors); err != nil {
		s.log.Error("saving cursors", "err", err)
		s.event(clusterpage.LevelError, "", "", "round-robin cursors not saved", err.Error())
		return
	}
	s.cursorsDirty = false
}

// Close saves the cursors and closes the coordinator the Server made. It does not close Meta.
func (s *Server) Close() error {
	s.saveCursors()
	var err error
	s.closeOnce.Do(func() {
		if s.ownCoord {
			err = s.coord.Close()
		}
	})
	return err
}

// saveStorage writes st; the caller holds s.mu.
func (s *Server) saveStorage(st *meta.Storage) error {
	if err := s.cfg.Meta.PutStorage(st.Clone()); err != nil {
		return fmt.Errorf("%w: storage %s/%s: %w", ErrPersist, st.Group, st.Key, err)
	}
	s.savedBeat[seenKey(st)] = st.LastHeartbeat
	return nil
}
