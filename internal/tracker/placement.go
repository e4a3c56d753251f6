package tracker

import (
	"context"
	"fmt"
	"slices"

	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// Cursor names (persisted in meta).
const cursorWriteGroup = "write_group"

func cursorServer(g string) string          { return "server/" + g }
func cursorRead(g string) string            { return "read/" + g }
func cursorPath(st *meta.Storage) string    { return "path/" + st.Group + "/" + st.Key }
func (s *Server) cursor(name string) uint64 { return s.cursors[name] }
func (s *Server) setCursor(name string, v uint64) {
	if s.cursors[name] != v {
		s.cursors[name] = v
		s.cursorsDirty = true
	}
}

// QueryStore picks the group, storage and store path of an upload.
func (s *Server) QueryStore(ctx context.Context, req *trackerpb.QueryStoreRequest) (*trackerpb.QueryStoreResponse, error) {
	resp, err := s.queryStore(req.GetGroup())
	return resp, toStatus(err)
}

func (s *Server) queryStore(want string) (*trackerpb.QueryStoreResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queryStoreLocked(want)
}

// queryStoreAll is queryStore and, after the storage it picked, every other writable
// storage of the group in key order (FastDFS's query store "all").
func (s *Server) queryStoreAll(want string) (*trackerpb.QueryStoreResponse, []*trackerpb.StorageBrief, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp, err := s.queryStoreLocked(want)
	if err != nil {
		return nil, nil, err
	}
	all := []*trackerpb.StorageBrief{resp.GetStorage()}
	for _, st := range s.groups[resp.GetGroup()].sorted() {
		if writable(st) && st.Key != resp.GetStorage().GetKey() {
			all = append(all, brief(st))
		}
	}
	return resp, all, nil
}

// queryStoreLocked is queryStore; the caller holds s.mu.
func (s *Server) queryStoreLocked(want string) (*trackerpb.QueryStoreResponse, error) {
	g, err := s.pickGroup(want)
	if err != nil {
		return nil, err
	}
	st := s.pickServer(g)
	if path, ok := s.pickPath(st); ok {
		return &trackerpb.QueryStoreResponse{Group: g.meta.Name, Storage: brief(st), StorePathIndex: int32(path)}, nil
	}
	// Every path of the chosen storage is within the reserve: any other writable one.
	for _, o := range g.sorted() {
		if o != st && writable(o) {
			if path, ok := s.pickPath(o); ok {
				return &trackerpb.QueryStoreResponse{Group: g.meta.Name, Storage: brief(o), StorePathIndex: int32(path)}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: group %s: every store path is within reserved_storage_space", ErrNoSpace, g.meta.Name)
}

// groupState tells whether a group can take an upload.
func (s *Server) groupState(g *group) (hasWritable, hasSpace bool, free uint64) {
	var (
		reported           bool
		leastTotal, leastF uint64
	)
	for _, st := range g.storages {
		if !writable(st) {
			continue
		}
		hasWritable = true
		if t, f, ok := usage(st); ok && (!reported || f < leastF) {
			reported, leastTotal, leastF = true, t, f
		}
	}
	if !hasWritable {
		return false, false, 0
	}
	if !reported {
		return true, true, 0 // no disk report yet: assume space
	}
	return true, s.spaceOK(leastTotal, leastF), leastF
}

// spaceOK applies reserved_storage_space to a path or a storage: a percentage keeps that
// share of total free, a size that many bytes.
func (s *Server) spaceOK(total, free uint64) bool {
	r := s.cfg.Tracker.ReservedStorageSpace
	if r.Percent > 0 {
		return total > 0 && float64(free) > float64(total)*r.Percent/100
	}
	return free > uint64(max(r.Bytes, 0))
}

// pickGroup chooses the group by the request or by store_lookup.
func (s *Server) pickGroup(want string) (*group, error) {
	if want == "" && s.cfg.Tracker.StoreLookup == 1 {
		want = s.cfg.Tracker.StoreGroup
	}
	if want != "" {
		g := s.groups[want]
		if g == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownGroup, want)
		}
		w, ok, _ := s.groupState(g)
		switch {
		case !w:
			return nil, fmt.Errorf("%w: group %s has no writable storage", ErrNoStorage, want)
		case !ok:
			return nil, fmt.Errorf("%w: group %s is within reserved_storage_space", ErrNoSpace, want)
		}
		return g, nil
	}
	names := make([]string, 0, len(s.groups))
	for n := range s.groups {
		names = append(names, n)
	}
	slices.Sort(names)
	var (
		anyWritable bool
		best        *group
		bestFree    uint64
	)
	start := s.cursor(cursorWriteGroup)
	for i := range names {
		idx := (start + uint64(i)) % uint64(len(names))
		g := s.groups[names[idx]]
		w, ok, free := s.groupState(g)
		anyWritable = anyWritable || w
		if !ok {
			continue
		}
		if s.cfg.Tracker.StoreLookup == 0 {
			s.setCursor(cursorWriteGroup, idx+1)
			return g, nil
		}
		if best == nil || free > bestFree {
			best, bestFree = g, free
		}
	}
	switch {
	case best != nil:
		return best, nil
	case anyWritable:
		return nil, fmt.Errorf("%w: every group is within reserved_storage_space", ErrNoSpace)
	}
	return nil, fmt.Errorf("%w: no group has a writable storage", ErrNoStorage)
}

// pickServer chooses a writable storage of g by store_server; g has at least one.
func (s *Server) pickServer(g *group) *meta.Storage {
	var ws []*meta.Storage
	for _, st := range g.sorted() {
		if writable(st) {
			ws = append(ws, st)
		}
	}
	switch s.cfg.Tracker.StoreServer {
	case 1:
		return ws[0]
	case 2:
		return slices.MinFunc(ws, func(a, b *meta.Storage) int { return a.UploadPriority - b.UploadPriority })
	}
	name := cursorServer(g.meta.Name)
	i := s.cursor(name) % uint64(len(ws))
	s.setCursor(name, i+1)
	return ws[i]
}

// pickPath chooses a store path of st by store_path, skipping paths within the reserve.
// Paths with no disk report are taken to have space.
func (s *Server) pickPath(st *meta.Storage) (int, bool) {
	n := max(st.StorePathCount, 1)
	report := make(map[int]meta.Disk, len(st.Disk))
	for _, d := range st.Disk {
		report[d.PathIndex] = d
	}
	ok := func(i int) bool {
		d, has := report[i]
		return !has || s.spaceOK(d.Total, d.Free)
	}
	if s.cfg.Tracker.StorePath == 2 {
		best, bestFree := -1, uint64(0)
		for i := range n {
			if d := report[i]; ok(i) && (best < 0 || d.Free > bestFree) {
				best, bestFree = i, d.Free
			}
		}
		return best, best >= 0
	}
	name := cursorPath(st)
	start := s.cursor(name)
	for k := range uint64(n) {
		i := int((start + k) % uint64(n))
		if ok(i) {
			s.setCursor(name, uint64(i+1))
			return i, true
		}
	}
	return -1, false
}
