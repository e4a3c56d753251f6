package storage

import (
	"errors"
	"io/fs"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/trackerpb"
)

// groupMembers is the membership of the node's group as the trackers last described it.
type groupMembers struct {
	mu      sync.RWMutex
	members []*trackerpb.StorageBrief
}

// set replaces the membership with a tracker's answer (every answer lists the whole group).
func (g *groupMembers) set(m []*trackerpb.StorageBrief) {
	if m == nil {
		return
	}
	g.mu.Lock()
	g.members = m
	g.mu.Unlock()
}

func (g *groupMembers) list() []*trackerpb.StorageBrief {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return slices.Clone(g.members)
}

// sourceURL returns the advertised HTTP base URL of the member that created id: matched by
// storage id when the ID's source reads as one, else by IPv4 address. ok is false when no
// tracker has named such a member or it advertises no URL.
func (g *groupMembers) sourceURL(id fileid.ID) (string, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if n, isID := id.ServerID(); isID {
		want := strconv.FormatUint(uint64(n), 10)
		for _, m := range g.members {
			if m.GetId() == want && m.GetHttpUrl() != "" {
				return m.GetHttpUrl(), true
			}
		}
	}
	addr := id.SourceIPv4().String()
	for _, m := range g.members {
		if m.GetAddr() == addr && m.GetHttpUrl() != "" {
			return m.GetHttpUrl(), true
		}
	}
	return "", false
}

// sourceURL is the HTTP module's SourceURL with trackers: the advertised URL the trackers
// know for the ID's source, else (a source named by IPv4) http://<source IPv4>:<this node's
// HTTP port>, the module's standalone behaviour. A source storage id no tracker names is
// unknown.
func (s *Server) sourceURL(id fileid.ID) (string, bool) {
	if u, ok := s.reporter.members.sourceURL(id); ok {
		return u, true
	}
	if _, isID := id.ServerID(); isID {
		return "", false
	}
	port := s.cfg.Storage.HTTP.ServerPort
	if s.httpLn != nil {
		port = s.httpLn.Addr().(*net.TCPAddr).Port
	}
	return s.httpScheme() + net.JoinHostPort(id.SourceIPv4().String(), strconv.Itoa(port)), true
}

// Members returns the node's group as the trackers last described it (nil when standalone
// or before the first answer).
func (s *Server) Members() []*trackerpb.StorageBrief {
	if s.reporter == nil {
		return nil
	}
	return s.reporter.members.list()
}

// TrackerKeys returns, for each tracker the node is currently joined to, the storage key
// that tracker knows it by.
func (s *Server) TrackerKeys() map[string]string {
	if s.reporter == nil {
		return nil
	}
	s.reporter.mu.Lock()
	defer s.reporter.mu.Unlock()
	return maps.Clone(s.reporter.joined)
}

// TrackerParams returns the parameters of the last Join answer (nil before it).
func (s *Server) TrackerParams() map[string]string {
	if s.reporter == nil {
		return nil
	}
	s.reporter.mu.Lock()
	defer s.reporter.mu.Unlock()
	return maps.Clone(s.reporter.params)
}

// hasFiles reports whether a store path holds a file. Once true it stays true; while
// false the data directories are walked again at most every 5 seconds.
func (r *reporter) hasFiles() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hasFile && r.s.hasChanges() {
		r.hasFile = true // something was uploaded or replicated here (replica.go)
	}
	if r.hasFile || time.Since(r.checked) < 5*time.Second {
		return r.hasFile
	}
	r.checked = time.Now()
	errFound := errors.New("found")
	for _, p := range r.s.cfg.Storage.StorePaths {
		data := filepath.Join(p.Path, "data")
		err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			// Only data/XX/YY/name is a stored file; data/ itself holds the node's own
			// state files.
			if rel, rerr := filepath.Rel(data, path); rerr == nil && strings.Count(rel, string(filepath.Separator)) == 2 {
				return errFound
			}
			return nil
		})
		if errors.Is(err, errFound) {
			r.hasFile = true
			break
		}
	}
	return r.hasFile
}
