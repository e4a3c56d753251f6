// Package disk is a storage node's store: FastDFS store paths (store_pathN/data/XX/YY/name,
// 256×256 fan-out), metadata "-m" files, slave and appender files, trunk-file slices, and
// atomic durable writes.
package disk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/depotfs/depot/internal/fileid"
)

// THE BODIES IN THIS FILE ARE STUBS: the implementer replaces them (keeping the API).

// Errors. Every returned error wraps one of these, with the id or path that failed.
var (
	ErrNotFound    = errors.New("file not found")
	ErrNoSpace     = errors.New("no space left on store path (reserved_storage_space)")
	ErrReadOnly    = errors.New("store path is read-only")
	ErrTruncated   = errors.New("upload truncated: fewer bytes than announced")
	ErrTooLarge    = errors.New("upload larger than announced")
	ErrExists      = errors.New("file already exists")
	ErrInvalid     = errors.New("invalid request")
	ErrNotAppender = errors.New("not an appender file")
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

// Store is a set of store paths. Its methods are safe for concurrent use.
type Store struct{}

// Open creates any missing data/XX/YY directories and returns the store.
func Open(o Options) (*Store, error) { return nil, errors.New("disk: not implemented") }

// Close persists counters and releases the store.
func (s *Store) Close() error { return nil }

// UploadOptions describe a new file.
type UploadOptions struct {
	Ext       string // extension without dot, 0..6 chars
	PathIndex int    // store path index, or -1 to let the store choose
	Appender  bool
	// Size is the announced size, or -1 when unknown. A stream that ends early gives
	// ErrTruncated, one that runs past it ErrTooLarge; nothing is left on disk either way.
	Size int64
}

// Upload writes r to a new file and returns its ID only once the file is durable
// (temp file, crc32 while writing, fsync, rename, fsync of the directory).
func (s *Store) Upload(ctx context.Context, r io.Reader, o UploadOptions) (fileid.ID, error) {
	return fileid.ID{}, errors.New("disk: not implemented")
}

// UploadSlave writes a slave file of master (which must exist) with prefix and ext.
func (s *Store) UploadSlave(ctx context.Context, master fileid.ID, prefix, ext string, r io.Reader, size int64) (fileid.ID, error) {
	return fileid.ID{}, errors.New("disk: not implemented")
}

// Append appends r (size bytes, or -1 unknown) to an appender file.
func (s *Store) Append(ctx context.Context, id fileid.ID, r io.Reader, size int64) error {
	return errors.New("disk: not implemented")
}

// Modify overwrites an appender file at offset with r (offset <= current size).
func (s *Store) Modify(ctx context.Context, id fileid.ID, offset int64, r io.Reader, size int64) error {
	return errors.New("disk: not implemented")
}

// Truncate sets an appender file's size (only shrinking or 0..current size).
func (s *Store) Truncate(id fileid.ID, size int64) error { return errors.New("disk: not implemented") }

// Delete removes a file and its metadata. A trunk slice is marked free.
func (s *Store) Delete(id fileid.ID) error { return errors.New("disk: not implemented") }

// Info describes a stored file.
type Info struct {
	Size    int64
	ModTime time.Time // name's create time for normal/trunk files, stat mtime for slave/appender
	CRC32   uint32    // from the name for normal/trunk files; computed for slave/appender
}

// Stat returns a file's info without computing anything expensive (CRC32 of slave/appender is 0).
func (s *Store) Stat(id fileid.ID) (Info, error) { return Info{}, errors.New("disk: not implemented") }

// File is an open stored file: its bytes are F[Offset : Offset+Size].
// The caller owns F and must close it; F is never shared, so its file position is the
// caller's (sendfile moves it).
type File struct {
	F       *os.File
	Offset  int64 // 0 for normal files, slot offset + 24 for trunk slices
	Size    int64
	ModTime time.Time
}

// Open opens the file named by id for reading; a trunk slice's header is checked against
// the name (FastDFS's rule) and a mismatch is ErrNotFound.
func (s *Store) Open(id fileid.ID) (File, error) { return File{}, errors.New("disk: not implemented") }

// Meta returns a file's metadata (empty map when it has none).
func (s *Store) Meta(id fileid.ID) (map[string]string, error) {
	return nil, errors.New("disk: not implemented")
}

// SetMeta replaces (merge=false) or merges into a file's metadata.
func (s *Store) SetMeta(id fileid.ID, m map[string]string, merge bool) error {
	return errors.New("disk: not implemented")
}

// PathUsage is one store path's disk usage.
type PathUsage struct {
	Dir         string
	Total, Free uint64
	ReadOnly    bool
}

// Usage reports every store path's usage.
func (s *Store) Usage() ([]PathUsage, error) { return nil, errors.New("disk: not implemented") }
