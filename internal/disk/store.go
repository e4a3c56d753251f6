package disk

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// Errors. Every returned error wraps one of these, with the id or path that failed.
var (
	ErrNotFound    = errors.New("file not found")
	ErrNoSpace     = errors.New("no space left on store path")
	ErrReadOnly    = errors.New("store path is read-only")
	ErrTruncated   = errors.New("upload truncated: fewer bytes than announced")
	ErrTooLarge    = errors.New("upload larger than announced")
	ErrExists      = errors.New("file already exists")
	ErrInvalid     = errors.New("invalid request")
	ErrNotAppender = errors.New("not an appender file")
	// ErrSlotBusy: a trunk replica's slot still holds another live file (its delete has not
	// arrived yet); retrying later succeeds.
	ErrSlotBusy = errors.New("trunk slot holds another live file")
)

// PathConfig is one store path (store_pathN).
type PathConfig struct {
	Dir      string
	ReadOnly bool
}

// Reserved is reserved_storage_space: either a percentage of each path or an absolute size.
type Reserved struct {
	Percent float64 // 0 < Percent < 100, or 0 when Bytes is used
	Bytes   int64
}

// Options configure a Store.
type Options struct {
	Group       string
	Paths       []PathConfig
	SubdirCount int // subdir_count_per_path, default 256
	// DistributeMode is file_distribute_path_mode: 0 round robin, 1 hash.
	DistributeMode int
	RotateCount    int // file_distribute_rotate_count, default 100
	// StatFile persists the round-robin counters (FastDFS: base_path/data/storage_stat.dat).
	StatFile string
	Reserved Reserved
	Source   [4]byte // packed identity written into new file IDs
	Now      func() time.Time
	Rand     func() uint32
	// Statfs reports a directory's total and free bytes; nil means syscall.Statfs.
	Statfs func(dir string) (total, free uint64, err error)
	Logger *slog.Logger
}

// Defaults of FastDFS's storage.conf.
const (
	DefaultSubdirCount = 256
	DefaultRotateCount = 100
	maxPaths           = 256
	bufSize            = 256 << 10
	lockStripes        = 64
)

// Store is a set of store paths. Its methods are safe for concurrent use.
type Store struct {
	o     Options
	log   *slog.Logger
	paths []storePath
	rand  func() uint32
	bufs  sync.Pool // *[bufSize]byte
	dist  *distributor
	locks [lockStripes]sync.Mutex // per-ID serialisation of in-place writes, metadata, delete
	// trunkLocks serialise header writes per trunk file; taken inside locks, never around them.
	trunkLocks [lockStripes]sync.Mutex
	trunkSyncs sync.Map // trunk file path → *groupSync

	pathMu   sync.Mutex
	nextPath int // round robin over writable store paths
}

// storePath is one opened store path.
type storePath struct {
	index    int
	dir      string // the store path itself
	data     string // dir + "/data/"
	tmp      string // dir + "/data/.depot-tmp/"
	readOnly bool
	refused  bool // configured writable, opened read-only: it refused writes at Open
}

func (o *Options) validate() error {
	if len(o.Paths) == 0 || len(o.Paths) > maxPaths {
		return fmt.Errorf("disk: %d store paths (want 1..%d): %w", len(o.Paths), maxPaths, ErrInvalid)
	}
	if o.SubdirCount == 0 {
		o.SubdirCount = DefaultSubdirCount
	}
	if o.SubdirCount < 1 || o.SubdirCount > 256 {
		return fmt.Errorf("disk: subdir_count_per_path %d (want 1..256): %w", o.SubdirCount, ErrInvalid)
	}
	if o.RotateCount <= 0 {
		o.RotateCount = DefaultRotateCount
	}
	if o.DistributeMode != 0 && o.DistributeMode != 1 {
		return fmt.Errorf("disk: file_distribute_path_mode %d (want 0 or 1): %w", o.DistributeMode, ErrInvalid)
	}
	if o.Reserved.Percent < 0 || o.Reserved.Percent >= 100 || o.Reserved.Bytes < 0 {
		return fmt.Errorf("disk: reserved_storage_space %+v: %w", o.Reserved, ErrInvalid)
	}
	if o.Group != "" {
		if err := fileid.ValidGroup(o.Group); err != nil {
			return fmt.Errorf("disk: group %q: %w: %w", o.Group, ErrInvalid, err)
		}
	}
	for i, p := range o.Paths {
		if p.Dir == "" {
			return fmt.Errorf("disk: store_path%d is empty: %w", i, ErrInvalid)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Statfs == nil {
		o.Statfs = statfs
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// Open creates any missing data/XX/YY directories and returns the store.
func Open(o Options) (*Store, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Store{o: o, log: o.Logger, rand: rand.Uint32}
	if o.Rand != nil {
		var mu sync.Mutex
		s.rand = func() uint32 {
			mu.Lock()
			defer mu.Unlock()
			return o.Rand()
		}
	}
	s.bufs.New = func() any { return new([bufSize]byte) }
	for i, pc := range o.Paths {
		p, err := s.openPath(i, pc)
		if err != nil {
			return nil, err
		}
		s.paths = append(s.paths, p)
	}
	s.dist = newDistributor(o.StatFile, o.SubdirCount, o.RotateCount, s.log)
	return s, nil
}

// Close persists counters and releases the store.
func (s *Store) Close() error {
	return s.dist.save()
}

// PathUsage is one store path's disk usage.
type PathUsage struct {
	Dir         string
	Total, Free uint64
	ReadOnly    bool
}

// Usage reports every store path's usage.
func (s *Store) Usage() ([]PathUsage, error) {
	out := make([]PathUsage, 0, len(s.paths))
	for _, p := range s.paths {
		total, free, err := s.o.Statfs(p.dir)
		if err != nil {
			return nil, fmt.Errorf("disk: statfs %s: %w", p.dir, err)
		}
		out = append(out, PathUsage{Dir: p.dir, Total: total, Free: free, ReadOnly: p.readOnly})
	}
	return out, nil
}

// CheckWritable proves that every store path not configured read-only takes writes now: it
// creates and removes a scratch file in each. The error names each path that failed (one
// that refused writes at Open included) and wraps ErrReadOnly, ErrNoSpace or the system's
// error. It touches the disk: call it for a health check, not per request.
func (s *Store) CheckWritable() error {
	var errs []error
	for i := range s.paths {
		p := &s.paths[i]
		switch {
		case p.refused:
			errs = append(errs, fmt.Errorf("disk: store_path%d %s refused writes when the node started (served read-only): %w", p.index, p.dir, ErrReadOnly))
		case !p.readOnly:
			if err := probeWrite(p); err != nil {
				errs = append(errs, fmt.Errorf("disk: store_path%d %s takes no writes: %w", p.index, p.dir, err))
			}
		}
	}
	return errors.Join(errs...)
}

// statfs is the default Options.Statfs: space available to unprivileged users.
func statfs(dir string) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}

// hasRoom reports whether p can take size more bytes (size < 0: unknown) and keep the
// reserved space free.
func (s *Store) hasRoom(p *storePath, size int64) (bool, error) {
	total, free, err := s.o.Statfs(p.dir)
	if err != nil {
		return false, fmt.Errorf("disk: statfs %s: %w", p.dir, err)
	}
	reserved := uint64(s.o.Reserved.Bytes)
	if s.o.Reserved.Percent > 0 {
		reserved = uint64(float64(total) * s.o.Reserved.Percent / 100)
	}
	need := reserved
	if size > 0 {
		need += uint64(size)
	}
	return free > need, nil
}

// choosePath returns the store path for a new file: index, or round robin over the
// writable paths with room when index < 0.
func (s *Store) choosePath(index int, size int64) (*storePath, error) {
	if index < -1 {
		return nil, fmt.Errorf("disk: store path index %d (want -1 to let the store choose, or 0..%d): %w", index, len(s.paths)-1, ErrInvalid)
	}
	if index >= 0 {
		if index >= len(s.paths) {
			return nil, fmt.Errorf("disk: store path index %d (have %d): %w", index, len(s.paths), ErrInvalid)
		}
		p := &s.paths[index]
		if p.readOnly {
			return nil, fmt.Errorf("disk: %s: %w", p.dir, ErrReadOnly)
		}
		ok, err := s.hasRoom(p, size)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("disk: %s: within reserved_storage_space: %w", p.dir, ErrNoSpace)
		}
		return p, nil
	}
	s.pathMu.Lock()
	start := s.nextPath
	s.nextPath = (s.nextPath + 1) % len(s.paths)
	s.pathMu.Unlock()
	writable := false
	for i := range s.paths {
		p := &s.paths[(start+i)%len(s.paths)]
		if p.readOnly {
			continue
		}
		writable = true
		ok, err := s.hasRoom(p, size)
		if err != nil {
			s.log.Warn("statfs failed", "dir", p.dir, "err", err)
			continue
		}
		if ok {
			return p, nil
		}
	}
	if !writable {
		return nil, fmt.Errorf("disk: no writable store path: %w", ErrReadOnly)
	}
	return nil, fmt.Errorf("disk: every store path is below reserved_storage_space: %w", ErrNoSpace)
}

// pathOf returns the store path of an ID, or false when the index is out of range.
func (s *Store) pathOf(index int) (*storePath, bool) {
	if index < 0 || index >= len(s.paths) {
		return nil, false
	}
	return &s.paths[index], true
}

// lockFor returns the stripe lock serialising changes to the file named name.
func (s *Store) lockFor(name string) *sync.Mutex { return &s.locks[stripe(name)] }

// trunkLockFor returns the stripe lock serialising header writes to a trunk file.
func (s *Store) trunkLockFor(path string) *sync.Mutex { return &s.trunkLocks[stripe(path)] }

// stripe hashes a name (FNV-1a) to a lock stripe.
func stripe(name string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return h % lockStripes
}

// osErr maps an OS error to the package's sentinels where one applies.
func osErr(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: disk full: %w", ErrNoSpace, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
