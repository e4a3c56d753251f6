package disk

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/depotfs/depot/internal/fileid"
)

// Metadata file format: "name\x02value" records joined by "\x01", sorted by name on write.
const (
	metaSuffix     = "-m"
	metaFieldSep   = '\x02'
	metaRecordSep  = '\x01'
	MaxMetaNameLen = 64  // FastDFS FDFS_MAX_META_NAME_LEN
	MaxMetaValLen  = 256 // FastDFS FDFS_MAX_META_VALUE_LEN
	// MaxMetaSize bounds a file's encoded metadata, however it was set (replace, merge,
	// upload, replication): 64 KiB holds over 200 records of the longest name and value and
	// stays far below the 4 MiB of one gRPC message, so the SDK can always read it back.
	MaxMetaSize = 64 << 10
)

// parseMeta decodes a metadata file. Empty records are skipped; a record without the field
// separator is a name with an empty value; a repeated name keeps its last value.
func parseMeta(b []byte) map[string]string {
	m := map[string]string{}
	for rec := range strings.SplitSeq(string(b), string(rune(metaRecordSep))) {
		if rec == "" {
			continue
		}
		k, v, _ := strings.Cut(rec, string(rune(metaFieldSep)))
		m[k] = v
	}
	return m
}

// formatMeta encodes m sorted by name.
func formatMeta(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	n := 0
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 2
	}
	sort.Strings(keys)
	b := make([]byte, 0, n)
	for i, k := range keys {
		if i > 0 {
			b = append(b, metaRecordSep)
		}
		b = append(b, k...)
		b = append(b, metaFieldSep)
		b = append(b, m[k]...)
	}
	return b
}

// checkMeta validates names and values: names 1..64 bytes, values up to 256 bytes, neither
// holding a separator.
func checkMeta(m map[string]string) error {
	for k, v := range m {
		switch {
		case k == "" || len(k) > MaxMetaNameLen:
			return fmt.Errorf("disk: metadata name %q: length %d (want 1..%d): %w", k, len(k), MaxMetaNameLen, ErrInvalid)
		case len(v) > MaxMetaValLen:
			return fmt.Errorf("disk: metadata %q: value of %d bytes (max %d): %w", k, len(v), MaxMetaValLen, ErrInvalid)
		case strings.ContainsAny(k, "\x01\x02") || strings.ContainsAny(v, "\x01\x02"):
			return fmt.Errorf("disk: metadata %q: separator byte in name or value: %w", k, ErrInvalid)
		}
	}
	return nil
}

// Meta returns a file's metadata (empty map when it has none).
func (s *Store) Meta(id fileid.ID) (map[string]string, error) {
	if _, err := s.Stat(id); err != nil {
		return nil, err
	}
	p, _ := s.pathOf(id.StorePath())
	return readMeta(p.data + id.RelPath() + metaSuffix)
}

func readMeta(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("disk: read metadata %s: %w", path, osErr(err))
	}
	return parseMeta(b), nil
}

// SetMeta replaces (merge=false) or merges into a file's metadata. Replacing with an empty
// map removes the metadata file. The file is replaced atomically (temp file + rename).
func (s *Store) SetMeta(id fileid.ID, m map[string]string, merge bool) error {
	if err := checkMeta(m); err != nil {
		return err
	}
	p, err := s.writablePath("set metadata", id)
	if err != nil {
		return err
	}
	path := p.data + id.RelPath() + metaSuffix
	mu := s.lockFor(id.Name())
	mu.Lock()
	defer mu.Unlock()
	if _, err := s.Stat(id); err != nil {
		return err
	}
	if merge {
		old, err := readMeta(path)
		if err != nil {
			return err
		}
		for k, v := range m {
			old[k] = v
		}
		m = old
	}
	if len(m) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("disk: set metadata %s: %w", id, osErr(err))
		}
		return nil
	}
	b := formatMeta(m)
	if len(b) > MaxMetaSize {
		return fmt.Errorf("disk: set metadata %s: %d records, %d bytes encoded, over the limit of %d bytes: %w", id, len(m), len(b), MaxMetaSize, ErrInvalid)
	}
	if err := s.replaceFile(p, path, b); err != nil {
		return fmt.Errorf("disk: set metadata %s: %w", id, err)
	}
	return nil
}

// replaceFile writes b to a scratch file of p, fsyncs it and renames it over path.
func (s *Store) replaceFile(p *storePath, path string, b []byte) error {
	f, tmp, err := createTemp(p)
	if err != nil {
		return err
	}
	if err := commitTemp(f, tmp, path, b); err != nil {
		return osErr(err)
	}
	return osErr(syncDir(path[:strings.LastIndexByte(path, '/')]))
}
