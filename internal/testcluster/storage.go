package testcluster

import (
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// Storage is one storage node of a Cluster. Stop and Restart keep its address, ports and
// store path.
type Storage struct {
	c     *Cluster
	Group string
	Index int // within its group
	Host  string
	dir   string

	mu   sync.Mutex
	sc   conf.Storage
	cfg  storage.Config
	node *storage.Server
	port int
}

// AddStorage starts a storage of group on host ("": the next free storage address)
// reporting to every tracker.
func (c *Cluster) AddStorage(group string, index int, host string) *Storage {
	c.t.Helper()
	if host == "" {
		host = c.host(2, len(c.Storages)+1)
	}
	s := &Storage{c: c, Group: group, Index: index, Host: host, dir: c.t.TempDir()}
	sc := conf.DefaultStorage()
	sc.GroupName = group
	sc.BindAddr = host
	sc.Port, sc.HTTP.ServerPort = 0, 0
	sc.BasePath = s.dir
	sc.StorePaths = []conf.StorePath{{Path: s.dir}}
	sc.SubdirCountPerPath = 2
	sc.TrackerServers = c.TrackerAddrs()
	sc.HeartBeatInterval = HeartbeatInterval
	sc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	if id := c.idOf[host]; id != "" {
		sc.UseStorageID, sc.ServerID, sc.StorageIDsFilename = true, id, c.idsFile
	}
	s.cfg = storage.Config{Logger: c.log.With("storage", host)}
	if f := c.opts.Storage; f != nil {
		f(group, index, &sc, &s.cfg)
	}
	s.sc = sc
	if err := s.start(); err != nil {
		c.t.Fatalf("testcluster: storage %s: %v", host, err)
	}
	c.Storages = append(c.Storages, s)
	c.t.Cleanup(s.Stop)
	return s
}

func (s *Storage) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.cfg
	cfg.Storage = s.sc
	cfg.Storage.Port = s.port
	node, err := storage.New(cfg)
	if err != nil {
		return err
	}
	if err := node.Start(); err != nil {
		node.Close()
		return err
	}
	_, p, _ := net.SplitHostPort(node.GRPCAddr())
	s.port, _ = strconv.Atoi(p)
	s.node = node
	return nil
}

// Stop stops the node (it tells its trackers it leaves, and heartbeats end). Safe when stopped.
func (s *Storage) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.node != nil {
		s.node.Close()
		s.node = nil
	}
}

// Restart starts a stopped node again on the same address and store.
func (s *Storage) Restart() {
	s.c.t.Helper()
	if err := s.start(); err != nil {
		s.c.t.Fatalf("testcluster: restart storage %s: %v", s.Host, err)
	}
}

// Running reports whether the node is started.
func (s *Storage) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node != nil
}

// Node returns the running node (nil when stopped).
func (s *Storage) Node() *storage.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node
}

// Addr is the node's gRPC address.
func (s *Storage) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return net.JoinHostPort(s.Host, strconv.Itoa(s.port))
}

// Key is the key trackers know the node by: its storage id, else "addr:port".
func (s *Storage) Key() string {
	if id := s.ID(); id != "" {
		return id
	}
	return s.Addr()
}

// Dir is the node's store path.
func (s *Storage) Dir() string { return s.dir }

func (s *Storage) String() string { return fmt.Sprintf("%s/%s", s.Group, s.Addr()) }
