package trunk

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/trunkpb"
)

// Store is what a node needs from its storage's disk.Store.
type Store interface {
	PickPath(index int, size int64) (int, error)
	WriteTrunk(l disk.TrunkLoc, data []byte, ext string, beforeCommit func(fileid.ID) error) (fileid.ID, error)
	CreateTrunkFile(path int, d1, d2 uint8, id, size uint32) error
	RemoveTrunkFile(path int, d1, d2 uint8, id uint32) error
	DataDirs() []string
	SubdirCount() int
}

var _ Store = (*disk.Store)(nil)

// Member is a storage of the group as the trackers describe it.
type Member struct {
	Key  string
	Addr string // gRPC host:port
}

// NodeOptions configure a Node.
type NodeOptions struct {
	Store Store
	// StateDir keeps the fence and the trunk server's generation counter (base_path/data);
	// "" keeps them in memory (tests).
	StateDir string
	Logger   *slog.Logger
	// RescanEvery is the wait between two attempts to scan every storage of the group after
	// taking over (0: 2 s).
	RescanEvery time.Duration
	// DialOptions are added when dialling other storages (tests).
	DialOptions []grpc.DialOption
	// Now is the clock of trunk_create_file_advance (nil: time.Now).
	Now func() time.Time
}

// Node is a storage's part in trunk files: it writes small uploads into slots it gets from
// the group's trunk server, answers scans, and, when it is the trunk server itself, runs the
// group's Allocator and serves TrunkService to the others.
type Node struct {
	trunkpb.UnimplementedTrunkServiceServer

	o      NodeOptions
	log    *slog.Logger
	params atomic.Pointer[Params]
	fence  fence

	mu      sync.Mutex
	self    string
	server  string // trunk server key ("" = none)
	epoch   uint32
	members map[string]string // key → gRPC address
	conns   map[string]*grpc.ClientConn
	role    *serverRole // non-nil while this node is the trunk server
	closed  bool
}

// serverRole is the trunk server's allocator and the goroutines that fill and extend it.
type serverRole struct {
	epoch    uint32
	gen      uint64
	alloc    *Allocator
	complete atomic.Bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// NewNode returns a node with use_trunk_file off until SetParams turns it on.
func NewNode(o NodeOptions) (*Node, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.RescanEvery <= 0 {
		o.RescanEvery = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Node{o: o, log: log, members: map[string]string{}, conns: map[string]*grpc.ClientConn{}}
	if o.StateDir != "" {
		n.fence.file = filepath.Join(o.StateDir, "trunk_fence.dat")
	}
	if err := n.fence.load(); err != nil {
		return nil, err
	}
	p := Params{}
	n.params.Store(&p)
	return n, nil
}

// Register registers TrunkService on srv.
func (n *Node) Register(srv *grpc.Server) { trunkpb.RegisterTrunkServiceServer(srv, n) }

// SetParams applies the trunk parameters the trackers pushed. Invalid parameters turn trunk
// files off (logged).
func (n *Node) SetParams(m map[string]string) {
	p, err := ParamsFrom(m)
	if err != nil {
		n.log.Warn("trunk parameters from the tracker are invalid: trunk files off", "err", err)
		p = Params{}
	}
	old := n.params.Swap(&p)
	if old == nil || *old != p {
		n.log.Info("trunk parameters", "use_trunk_file", p.Enabled, "slot_min_size", p.SlotMinSize,
			"slot_max_size", p.SlotMaxSize, "trunk_file_size", p.FileSize)
	}
}

// Params returns the parameters in force.
func (n *Node) Params() Params { return *n.params.Load() }

// SetServer applies what a tracker said about the group: this storage's key, the trunk
// server's key, the appointment epoch and the members. When this storage is appointed it
// starts an allocator (taking over: it scans every member, fencing older trunk servers);
// when another is, it stops its own.
func (n *Node) SetServer(self, server string, epoch uint32, members []Member) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if epoch < n.epoch {
		return // an older answer from a lagging tracker
	}
	n.self = self
	if len(members) > 0 {
		n.members = map[string]string{}
		for _, m := range members {
			if m.Addr != "" {
				n.members[m.Key] = m.Addr
			}
		}
	}
	n.server, n.epoch = server, epoch
	enabled := n.params.Load().Enabled
	mine := enabled && server != "" && server == self
	if n.role != nil && (!mine || n.role.epoch != epoch) {
		n.stopRole()
	}
	if mine && n.role == nil {
		if err := n.startRole(epoch); err != nil {
			n.log.Error("cannot become the trunk server", "epoch", epoch, "err", err)
		}
	}
}

// Close stops the allocator and closes connections to other storages.
func (n *Node) Close() {
	n.mu.Lock()
	n.closed = true
	var done chan struct{}
	if r := n.role; r != nil {
		done = r.done
		n.stopRole()
	}
	conns := n.conns
	n.conns = map[string]*grpc.ClientConn{}
	n.mu.Unlock()
	if done != nil {
		<-done
	}
	for _, c := range conns {
		c.Close()
	}
}

// stopRole ends this node's term as trunk server; the caller holds n.mu.
func (n *Node) stopRole() {
	r := n.role
	n.role = nil
	r.cancel() // its goroutine ends on its own; it holds no lock of n
	n.log.Info("no longer the trunk server", "epoch", r.epoch)
}

// startRole makes this node the trunk server of epoch: a new generation, an allocator
// loaded from a scan of its own store (fenced), then a background scan of every member.
func (n *Node) startRole(epoch uint32) error {
	gen, err := n.nextGeneration(epoch)
	if err != nil {
		return err
	}
	p := *n.params.Load()
	a, err := New(Options{Params: p, Disk: diskAdapter{n.o.Store}, SubdirCount: n.o.Store.SubdirCount(), Epoch: epoch, Logger: n.log})
	if err != nil {
		return err
	}
	var own ScanResult
	if err := n.fence.raise(gen, func() error { return n.scanOwn(&own) }); err != nil {
		return err
	}
	a.Load(own, false)
	ctx, cancel := context.WithCancel(context.Background())
	r := &serverRole{epoch: epoch, gen: gen, alloc: a, cancel: cancel, done: make(chan struct{})}
	n.role = r
	n.log.Info("trunk server: taking over", "epoch", epoch, "generation", fmt.Sprintf("%#x", gen),
		"trunk_files", len(own.Files), "slots", len(own.Slots))
	go func() {
		defer close(r.done)
		n.completeRebuild(ctx, r)
		if p.CreateAdvance {
			n.createAhead(ctx, r, p)
		}
	}()
	return nil
}

// nextGeneration is epoch<<32 | a counter this storage persists and bumps at every start of
// an allocator: a restarted trunk server fences its own earlier grants too.
func (n *Node) nextGeneration(epoch uint32) (uint64, error) {
	var c uint64
	if n.o.StateDir != "" {
		name := filepath.Join(n.o.StateDir, "trunk_generation.dat")
		var err error
		if c, err = readUint(name); err != nil {
			return 0, err
		}
		c++
		if err := writeUint(name, c); err != nil {
			return 0, err
		}
	} else {
		c = uint64(time.Now().UnixNano()) & 0xffffffff
	}
	return uint64(epoch)<<32 | c&0xffffffff, nil
}

// scanOwn scans every store path of this storage.
func (n *Node) scanOwn(out *ScanResult) error {
	sub := n.o.Store.SubdirCount()
	for i, dir := range n.o.Store.DataDirs() {
		if err := ScanPath(dir, uint8(i), sub, out); err != nil {
			return err
		}
	}
	return nil
}

// completeRebuild scans every member of the group (each fenced at r.gen) until all answer,
// then hands out the free space of the older trunk files too.
func (n *Node) completeRebuild(ctx context.Context, r *serverRole) {
	for {
		res, err := n.scanAll(ctx, r.gen)
		if err == nil {
			r.alloc.Load(res, true)
			r.complete.Store(true)
			st := r.alloc.Stats()
			n.log.Info("trunk server: every storage scanned; free space rebuilt", "epoch", r.epoch,
				"trunk_files", st.Files, "slots", st.Used, "free_bytes", st.FreeBytes)
			return
		}
		n.log.Warn("trunk server: not every storage could be scanned; older trunk files stay unused", "err", err)
		t := time.NewTimer(n.o.RescanEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// scanAll scans this storage and every member it knows.
func (n *Node) scanAll(ctx context.Context, gen uint64) (ScanResult, error) {
	var res ScanResult
	if err := n.fence.raise(gen, func() error { return n.scanOwn(&res) }); err != nil {
		return res, err
	}
	n.mu.Lock()
	peers := map[string]string{}
	for k, a := range n.members {
		if k != n.self {
			peers[k] = a
		}
	}
	n.mu.Unlock()
	for key, addr := range peers {
		if err := n.scanPeer(ctx, key, addr, gen, &res); err != nil {
			return res, fmt.Errorf("scan %s (%s): %w", key, addr, err)
		}
	}
	return res, nil
}

// createAhead runs trunk_create_file_advance: at trunk_create_file_time_base, then every
// trunk_create_file_interval, it creates trunk files until the free space of each store
// path reaches trunk_create_file_space_threshold.
func (n *Node) createAhead(ctx context.Context, r *serverRole, p Params) {
	for {
		now := n.o.Now()
		t := time.NewTimer(NextCreate(now, p.CreateTimeBase, p.CreateInterval).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		for i := range n.o.Store.DataDirs() {
			made, err := r.alloc.CreateAhead(uint8(i))
			if err != nil {
				n.log.Warn("trunk_create_file_advance", "path", i, "err", err)
			} else if made > 0 {
				n.log.Info("trunk files created ahead of need", "path", i, "files", made)
			}
		}
	}
}

// NextCreate is the next run of trunk_create_file_advance after now: the time base of the
// day (local time), then every interval after it.
func NextCreate(now time.Time, base, interval time.Duration) time.Time {
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	t := day.Add(base)
	for t.After(now) {
		t = t.Add(-interval)
	}
	for !t.After(now) {
		t = t.Add(interval)
	}
	return t
}

// diskAdapter turns a Store into the allocator's Disk.
type diskAdapter struct{ s Store }

func (d diskAdapter) CreateFile(path, d1, d2 uint8, id, size uint32) error {
	return d.s.CreateTrunkFile(int(path), d1, d2, id, size)
}

func (d diskAdapter) RemoveFile(path, d1, d2 uint8, id uint32) error {
	return d.s.RemoveTrunkFile(int(path), d1, d2, id)
}

// conn returns a client connection to the member key (cached).
func (n *Node) conn(key string) (*grpc.ClientConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.conns[key]; c != nil {
		return c, nil
	}
	addr := n.members[key]
	if addr == "" {
		return nil, fmt.Errorf("trunk: no address known for storage %q", key)
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, n.o.DialOptions...)
	c, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("trunk: dial %s (%s): %w", key, addr, err)
	}
	n.conns[key] = c
	return c, nil
}

// Server returns the group's trunk server key and epoch as this node last heard them.
func (n *Node) Server() (string, uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.server, n.epoch
}
