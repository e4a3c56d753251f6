package tracker

import (
	"context"
	"fmt"

	"github.com/depotfs/depot/internal/clusterpage"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Leave marks a storage that is stopping OFFLINE at once (see tracker.proto).
func (s *Server) Leave(ctx context.Context, req *trackerpb.LeaveRequest) (*trackerpb.LeaveResponse, error) {
	resp, err := s.leave(req)
	return resp, toStatus(err)
}

func (s *Server) leave(req *trackerpb.LeaveRequest) (*trackerpb.LeaveResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, st := s.findStorage(req.GetGroup(), req.GetStorageKey())
	if st == nil || st.Status == meta.StatusDeleted {
		return nil, fmt.Errorf("%w: leave: %s/%s", ErrUnknownStorage, req.GetGroup(), req.GetStorageKey())
	}
	// As the OFFLINE sweep: a storage still waiting for its copy keeps its state.
	if st.Status == meta.StatusActive || st.Status == meta.StatusOnline {
		from := st.Status
		st.Status = meta.StatusOffline
		g.version++
		s.log.Info("storage status", "group", st.Group, "storage", st.Key, "from", from, "to", st.Status, "reason", "the storage is stopping")
		s.event(clusterpage.LevelInfo, st.Group, st.Key, "stopping", "the storage said it stops: "+from.String()+" to OFFLINE")
		if err := s.saveStorage(st); err != nil {
			return nil, err
		}
	}
	return &trackerpb.LeaveResponse{Status: trackerpb.StorageStatus(st.Status)}, nil
}
