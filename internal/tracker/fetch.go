package tracker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// QueryFetch picks the storage (or, with all, every storage) that may serve a download.
func (s *Server) QueryFetch(ctx context.Context, req *trackerpb.QueryFileRequest) (*trackerpb.QueryFetchResponse, error) {
	resp, err := s.queryFetch(req.GetFileId(), req.GetAll())
	return resp, toStatus(err)
}

// QueryUpdate picks the storage for changes to an existing file: its source when writable,
// else the first writable storage of its group.
func (s *Server) QueryUpdate(ctx context.Context, req *trackerpb.QueryFileRequest) (*trackerpb.QueryUpdateResponse, error) {
	resp, err := s.queryUpdate(req.GetFileId())
	return resp, toStatus(err)
}

func (s *Server) fileGroup(fileID string) (fileid.ID, *group, error) {
	id, err := fileid.Parse(fileID)
	if err != nil {
		return fileid.ID{}, nil, fmt.Errorf("%w: file id: %w", ErrInvalid, err)
	}
	g := s.groups[id.Group()]
	if g == nil {
		return fileid.ID{}, nil, fmt.Errorf("%w: %q of file %s", ErrUnknownGroup, id.Group(), fileID)
	}
	return id, g, nil
}

// source returns the storage that created the file (nil when unknown): by storage id when
// ids are in use and the name holds one, else by IPv4 address.
func (s *Server) source(g *group, id fileid.ID) *meta.Storage {
	sorted := g.sorted()
	if s.cfg.Tracker.UseStorageID {
		if v, ok := id.ServerID(); ok {
			sid := strconv.FormatUint(uint64(v), 10)
			for _, st := range sorted {
				if st.ID == sid && st.Status != meta.StatusDeleted {
					return st
				}
			}
		}
	}
	ip := id.SourceIPv4().String()
	for _, st := range sorted {
		if st.Addr == ip && st.Status != meta.StatusDeleted {
			return st
		}
	}
	return nil
}

// lastSynced is how far st has caught up: with the given source when st reported progress
// from it, else the min (store_server 0) or max (other modes) over everything it reported.
func (s *Server) lastSynced(st *meta.Storage, from string) int64 {
	var agg int64
	for i, p := range st.Sync {
		if from != "" && p.Peer == from {
			return p.LastSyncedTS
		}
		switch {
		case i == 0:
			agg = p.LastSyncedTS
		case s.cfg.Tracker.StoreServer == 0:
			agg = min(agg, p.LastSyncedTS)
		default:
			agg = max(agg, p.LastSyncedTS)
		}
	}
	return agg
}

// eligible is the rule of who may serve a file created at ts by src: the source itself, any
// storage once the file is older than storage_sync_file_max_delay, a storage synced past ts,
// or one synced to ts-1 once storage_sync_file_max_time has passed.
func (s *Server) eligible(st, src *meta.Storage, ts int64, now time.Time) bool {
	if src != nil && st.Key == src.Key {
		return true
	}
	t := &s.cfg.Tracker
	n := now.Unix()
	if ts < n-int64(t.StorageSyncFileMaxDelay/time.Second) {
		return true
	}
	srcKey := ""
	if src != nil {
		srcKey = src.Key
	}
	synced := s.lastSynced(st, srcKey)
	return synced > ts || (synced+1 >= ts && n-ts > int64(t.StorageSyncFileMaxTime/time.Second))
}

func (s *Server) queryFetch(fileID string, all bool) (*trackerpb.QueryFetchResponse, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, g, err := s.fileGroup(fileID)
	if err != nil {
		return nil, err
	}
	src := s.source(g, id)
	sourceOnly := id.Kind() == fileid.Appender || id.Kind() == fileid.Slave
	var ok []*meta.Storage
	for _, st := range g.sorted() {
		if readable(st) && (!sourceOnly && s.eligible(st, src, id.CreatedUnix(), now) || src != nil && st.Key == src.Key) {
			ok = append(ok, st)
		}
	}
	resp := &trackerpb.QueryFetchResponse{}
	if all {
		for _, st := range ok {
			resp.Storages = append(resp.Storages, brief(st))
		}
	} else if st := s.fetchOne(g, src, ok, sourceOnly); st != nil {
		resp.Storages = []*trackerpb.StorageBrief{brief(st)}
	}
	if len(resp.Storages) == 0 {
		return nil, fmt.Errorf("%w: no readable storage may serve %s", ErrNoStorage, fileID)
	}
	return resp, nil
}

// fetchOne picks one of the eligible storages: the source first when download_server = 1
// or the file is an appender or slave, else round robin; with none eligible, the first
// readable storage of the group.
func (s *Server) fetchOne(g *group, src *meta.Storage, ok []*meta.Storage, sourceOnly bool) *meta.Storage {
	if src != nil && readable(src) && (sourceOnly || s.cfg.Tracker.DownloadServer == 1) {
		return src
	}
	if len(ok) > 0 {
		name := cursorRead(g.meta.Name)
		i := s.cursor(name) % uint64(len(ok))
		s.setCursor(name, i+1)
		return ok[i]
	}
	for _, st := range g.sorted() {
		if readable(st) {
			return st
		}
	}
	return nil
}

func (s *Server) queryUpdate(fileID string) (*trackerpb.QueryUpdateResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, g, err := s.fileGroup(fileID)
	if err != nil {
		return nil, err
	}
	if src := s.source(g, id); src != nil && writable(src) {
		return &trackerpb.QueryUpdateResponse{Storage: brief(src)}, nil
	}
	for _, st := range g.sorted() {
		if writable(st) {
			return &trackerpb.QueryUpdateResponse{Storage: brief(st)}, nil
		}
	}
	return nil, fmt.Errorf("%w: no writable storage in group %s for %s", ErrNoStorage, g.meta.Name, fileID)
}
