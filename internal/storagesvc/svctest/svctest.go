// Package svctest starts a real storage gRPC service over a real disk.Store on 127.0.0.1
// for tests of the service, the client SDK and the fdfs command.
package svctest

import (
	"io/fs"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"google.golang.org/grpc"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/storagesvc"
)

// Group is the group the test server serves.
const Group = "group1"

// Server is a running test storage service. Stop is registered with t.Cleanup.
type Server struct {
	Addr  string      // host:port of the gRPC listener
	Store *disk.Store // the store behind the service
	Dir   string      // the single store path (store_path0)
	// Service is the service under test.
	Service *storagesvc.Service

	srv  *grpc.Server
	once sync.Once
}

// Start opens a store in a temp dir and serves storagesvc on a loopback port.
func Start(t testing.TB) *Server { return StartWith(t) }

// StartWith is Start with options for the gRPC server (interceptors under test).
func StartWith(t testing.TB, opts ...grpc.ServerOption) *Server {
	t.Helper()
	dir := t.TempDir()
	store, err := disk.Open(disk.Options{
		Group:       Group,
		Paths:       []disk.PathConfig{{Dir: dir}},
		SubdirCount: 2,
		StatFile:    filepath.Join(t.TempDir(), "storage_stat.dat"),
		Source:      [4]byte{127, 0, 0, 1},
	})
	if err != nil {
		t.Fatalf("svctest: open store in %s: %v", dir, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("svctest: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), Store: store, Dir: dir, srv: grpc.NewServer(opts...)}
	s.Service = storagesvc.New(store, storagesvc.Options{Group: Group})
	s.Service.Register(s.srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-served
		if err := store.Close(); err != nil {
			t.Errorf("svctest: close store: %v", err)
		}
	})
	return s
}

// Stop stops the server gracefully: it returns once every handler has returned, so a test
// can inspect the store after a client went away mid-stream.
func (s *Server) Stop() { s.once.Do(s.srv.GracefulStop) }

// Files lists the regular files below the store path, relative to it, sorted.
func (s *Server) Files(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(s.Dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("svctest: walk %s: %v", s.Dir, err)
	}
	sort.Strings(out)
	return out
}
