package tracker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Replicated decisions.
const (
	opDeleteStorage  = "delete_storage"
	opSetTrunkServer = "set_trunk_server"
)

// command is a replicated decision, JSON-encoded for Coordinator.Propose. At is the
// leader's clock when it decided (Unix nanoseconds): a storage that joined again after that
// is a new storage and is not deleted when the decision is replayed after a restart.
type command struct {
	Op    string `json:"op"`
	Group string `json:"group"`
	Key   string `json:"key"`
	At    int64  `json:"at"`
	// Epoch is the trunk epoch a set_trunk_server decision starts (the group's previous one
	// plus one); a replayed decision whose epoch is not above the group's changes nothing.
	Epoch uint32 `json:"epoch,omitempty"`
}

// decodeCommand parses a replicated decision.
func decodeCommand(data []byte) (command, error) {
	var c command
	if err := json.Unmarshal(data, &c); err != nil {
		return command{}, fmt.Errorf("%w: command: %v", ErrInvalid, err)
	}
	if c.Op != opDeleteStorage && c.Op != opSetTrunkServer || c.Group == "" || c.Key == "" {
		return command{}, fmt.Errorf("%w: command %q group %q key %q", ErrInvalid, c.Op, c.Group, c.Key)
	}
	return c, nil
}

// forwardedKey marks a call a follower passed on to the leader: it is never passed on again.
const forwardedKey = "depot-forwarded"

// DeleteStorage removes a storage that is not ACTIVE or ONLINE. Only the leader decides: a
// follower passes the call on to the leader, or fails naming the leader when it cannot.
// While no leader is known (an election in progress) it first waits for one, as far as the
// coordinator can and ctx allows, so that a client sees a leaderless window as a slower
// answer rather than an error.
func (s *Server) DeleteStorage(ctx context.Context, req *trackerpb.DeleteStorageRequest) (*trackerpb.DeleteStorageResponse, error) {
	if !s.coord.IsLeader() {
		if leads, err := s.awaitLeader(ctx); !leads {
			return s.forwardDelete(ctx, req, err)
		}
	}
	if err := s.deleteStorage(ctx, req.GetGroup(), req.GetStorageKey()); err != nil {
		return nil, toStatus(err)
	}
	return &trackerpb.DeleteStorageResponse{}, nil
}

// awaitLeader waits, when the coordinator can, until a leader is known, and reports whether
// this tracker is it; the error says why no leader is known.
func (s *Server) awaitLeader(ctx context.Context) (bool, error) {
	w, ok := s.coord.(leaderWaiter)
	if !ok {
		return false, nil
	}
	start := time.Now()
	leader, err := w.WaitLeader(ctx)
	// Without an election to wait for WaitLeader returns within microseconds.
	if waited := time.Since(start); waited > time.Millisecond {
		s.log.Info("waited for a leader", "leader", leader, "waited", waited.Round(time.Millisecond), "err", err)
	}
	if err != nil {
		return false, err
	}
	return s.coord.IsLeader(), nil
}

// forwardDelete passes a DeleteStorage call on to the leader; why is awaitLeader's reason
// when no leader is known.
func (s *Server) forwardDelete(ctx context.Context, req *trackerpb.DeleteStorageRequest, why error) (*trackerpb.DeleteStorageResponse, error) {
	leader, ok := s.coord.LeaderAddr()
	md, _ := metadata.FromIncomingContext(ctx)
	if !ok || leader == "" || leader == s.cfg.Addr || len(md.Get(forwardedKey)) > 0 {
		err := fmt.Errorf("%w: delete storage %s/%s: leader is %q", ErrNotLeader, req.GetGroup(), req.GetStorageKey(), leader)
		if why != nil {
			err = fmt.Errorf("%w (%v)", err, why)
		}
		return nil, toStatus(err)
	}
	creds := s.cfg.DialCreds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(leader, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: delete storage: leader %q: %w", ErrNotLeader, leader, err))
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, forwardedKey, "1")
	s.log.Info("passing delete storage on to the leader", "leader", leader, "group", req.GetGroup(), "storage", req.GetStorageKey())
	return trackerpb.NewTrackerServiceClient(conn).DeleteStorage(ctx, req)
}

func (s *Server) deleteStorage(ctx context.Context, group, key string) error {
	s.mu.Lock()
	st, err := s.lookup(group, key)
	if err == nil && (st.Status == meta.StatusActive || st.Status == meta.StatusOnline) {
		err = fmt.Errorf("%w: delete storage %s/%s: it is %s", ErrBusy, group, key, st.Status)
	}
	var cmd []byte
	if err == nil {
		cmd, err = json.Marshal(command{Op: opDeleteStorage, Group: group, Key: st.Key, At: s.now().UnixNano()})
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.coord.Propose(ctx, cmd); err != nil {
		return fmt.Errorf("delete storage %s/%s: %w", group, key, err)
	}
	return nil
}

// lookup finds a live (not deleted) storage by key, id or "addr:port"; the caller holds s.mu.
func (s *Server) lookup(group, key string) (*meta.Storage, error) {
	g := s.groups[group]
	if g == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, group)
	}
	for _, st := range g.sorted() {
		if st.Status == meta.StatusDeleted {
			continue
		}
		if st.Key == key || st.ID == key || fmt.Sprintf("%s:%d", st.Addr, st.Port) == key {
			return st, nil
		}
	}
	return nil, fmt.Errorf("%w: %s/%s", ErrUnknownStorage, group, key)
}

// Apply carries out a replicated decision. Every tracker applies the same decisions in the
// same order, and again from the start after a restart, so it is idempotent: deleting a
// storage this tracker does not know, or one that joined again after the decision, is a
// no-op.
func (s *Server) Apply(data []byte) error {
	c, err := decodeCommand(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Op == opSetTrunkServer {
		return s.applyTrunkServer(c)
	}
	g := s.groups[c.Group]
	if g == nil {
		return nil
	}
	st := g.storages[c.Key]
	if st == nil || st.Status == meta.StatusDeleted || st.Added.UnixNano() > c.At {
		return nil
	}
	st.Status, st.SyncSource, st.SyncUntil = meta.StatusDeleted, "", 0
	g.version++
	s.log.Info("storage deleted", "group", c.Group, "storage", c.Key)
	s.event(clusterpage.LevelInfo, c.Group, c.Key, "deleted", "")
	return s.saveStorage(st)
}
