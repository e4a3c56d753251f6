package membership

import (
	"errors"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("membership: invalid config")

// Config configures one gossip node.
type Config struct {
	Name     string // unique, stable node name (the tracker's node ID)
	BindAddr string // IPv4 address every gossip listener binds to
	Port     int    // UDP+TCP gossip port; 0 picks a free one
	Meta     Meta   // initial metadata; change it with UpdateMeta

	// ProbeInterval is the failure-detection period; 0 uses memberlist's
	// LAN default (1 s). Tests on one host use ~100 ms; the other gossip
	// timers are derived from it.
	ProbeInterval time.Duration

	// Reachable, when set, is consulted with a peer's IP for every packet
	// and stream: false drops the traffic. It is a test hook for simulating
	// partitions; production leaves it nil.
	Reachable func(host string) bool

	Logger *slog.Logger // nil discards
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("%w: empty node name", ErrConfig)
	}
	if net.ParseIP(c.BindAddr) == nil {
		return fmt.Errorf("%w: bind addr %q is not an IP address", ErrConfig, c.BindAddr)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%w: port %d", ErrConfig, c.Port)
	}
	if c.ProbeInterval < 0 {
		return fmt.Errorf("%w: probe interval %v", ErrConfig, c.ProbeInterval)
	}
	if _, err := c.Meta.Encode(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// Member is one known gossip node.
type Member struct {
	Name  string
	Addr  string // gossip address, host:port
	Meta  Meta   // zero if the node's meta did not decode
	Alive bool   // alive or suspect; false once dead or left
}

// Membership is a running gossip node. Its methods are safe for concurrent use.
type Membership struct {
	ml     *memberlist.Memberlist
	log    *slog.Logger
	events *eventQueue
	// local is this node's gossip address, read once at start: memberlist's LocalNode
	// returns its own state, which it rewrites (under its lock) whenever the node's
	// metadata changes, so reading it later races with UpdateMeta.
	local string

	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	meta    []byte
	members map[string]Member
}

// New starts a gossip node alone; call Join to meet others.
func New(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	meta, _ := cfg.Meta.Encode()
	m := &Membership{
		log:     log,
		meta:    meta,
		members: make(map[string]Member),
		events:  newEventQueue(log),
	}
	mc := memberlist.DefaultLANConfig()
	// A tracker that comes back on a new address (a container restarted
	// with a new IP) may reclaim its name once its old self is dead.
	mc.DeadNodeReclaimTime = 30 * time.Second
	if cfg.ProbeInterval > 0 {
		fastTimers(mc, cfg.ProbeInterval)
	}
	mc.Name = cfg.Name
	mc.BindAddr = cfg.BindAddr
	mc.AdvertiseAddr = cfg.BindAddr
	mc.Delegate = (*metaDelegate)(m)
	mc.Events = (*eventDelegate)(m)
	mc.Logger = stdlog.New(levelWriter{log}, "", 0)
	mc.LogOutput = nil

	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{cfg.BindAddr},
		BindPort:  cfg.Port,
		Logger:    mc.Logger,
	})
	if err != nil {
		m.events.close()
		return nil, fmt.Errorf("membership: listen on %s:%d: %w", cfg.BindAddr, cfg.Port, err)
	}
	mc.BindPort = nt.GetAutoBindPort()
	mc.AdvertisePort = mc.BindPort
	if cfg.Reachable != nil {
		mc.Transport = newCutTransport(nt, cfg.Reachable)
	} else {
		mc.Transport = nt
	}
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = mc.Transport.Shutdown()
		m.events.close()
		return nil, fmt.Errorf("membership: start %s: %w", cfg.Name, err)
	}
	m.ml = ml
	n := ml.LocalNode()
	m.local = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	return m, nil
}

// fastTimers scales memberlist's timers to a probe interval for one-host tests.
func fastTimers(mc *memberlist.Config, probe time.Duration) {
	mc.ProbeInterval = probe
	mc.ProbeTimeout = probe / 2
	mc.GossipInterval = probe / 5
	mc.PushPullInterval = 10 * probe
	mc.TCPTimeout = 5 * probe
	mc.SuspicionMult = 2
	mc.IndirectChecks = 1
	mc.RetransmitMult = 2
	mc.GossipToTheDeadTime = 20 * probe
	mc.DeadNodeReclaimTime = probe
}

// LocalAddr returns this node's gossip address, host:port.
func (m *Membership) LocalAddr() string { return m.local }

// Join contacts the given gossip addresses (host:port) and returns how many
// answered. It blocks for up to memberlist's TCP timeout per address.
func (m *Membership) Join(addrs []string) (int, error) {
	n, err := m.ml.Join(addrs)
	if err != nil && n == 0 {
		return 0, fmt.Errorf("membership: join %v: %w", addrs, err)
	}
	return n, nil
}

// Members returns every node this one has heard of, itself included, dead
// ones with Alive false, sorted by name.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	out := make([]Member, 0, len(m.members))
	for _, mem := range m.members {
		out = append(out, mem)
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// UpdateMeta replaces this node's metadata and gossips it, waiting up to
// timeout for the broadcast to go out.
func (m *Membership) UpdateMeta(meta Meta, timeout time.Duration) error {
	b, err := meta.Encode()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.meta = b
	m.mu.Unlock()
	if err := m.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("membership: update meta: %w", err)
	}
	return nil
}

// Events returns the channel of membership changes. It is closed by Close.
func (m *Membership) Events() <-chan Event { return m.events.out }

// Close leaves the cluster (best effort, bounded by timeout) and stops.
// Later calls do nothing and return the first call's error.
func (m *Membership) Close(timeout time.Duration) error {
	m.closeOnce.Do(func() {
		lerr := m.ml.Leave(timeout)
		serr := m.ml.Shutdown()
		m.events.close()
		m.closeErr = errors.Join(lerr, serr)
	})
	return m.closeErr
}

// record updates the member table from a memberlist node; it never blocks.
func (m *Membership) record(n *memberlist.Node, alive bool) Member {
	mem := Member{
		Name:  n.Name,
		Addr:  net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
		Alive: alive,
	}
	if meta, err := DecodeMeta(n.Meta); err == nil {
		mem.Meta = meta
	} else {
		m.log.Warn("membership: ignoring node meta", "node", n.Name, "err", err)
	}
	m.mu.Lock()
	m.members[n.Name] = mem
	m.mu.Unlock()
	return mem
}

// metaDelegate serves this node's metadata; the rest of memberlist's
// Delegate (user messages, state exchange) is unused.
type metaDelegate Membership

func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil
	}
	return slices.Clone(d.meta)
}
func (d *metaDelegate) NotifyMsg([]byte)                {}
func (d *metaDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (d *metaDelegate) LocalState(bool) []byte          { return nil }
func (d *metaDelegate) MergeRemoteState([]byte, bool)   {}
