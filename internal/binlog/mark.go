package binlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mark is a peer's cursor and catch-up state, FastDFS's .mark file.
type Mark struct {
	Pos Position
	// NeedSyncOld is set while this storage owes the peer a full copy (it is the peer's
	// sync source); SyncOldDone once that copy has finished.
	NeedSyncOld bool
	SyncOldDone bool
	// UntilTS is the tracker's sync_until_timestamp for the full copy.
	UntilTS  int64
	ScanRows int64
	SyncRows int64
}

// MarkPath returns the mark file of peer in dir: the peer key with ':' turned into '_'.
func MarkPath(dir, peer string) string {
	return filepath.Join(dir, strings.NewReplacer(":", "_", "/", "_").Replace(peer)+".mark")
}

// LoadMark reads a mark file; ok is false when there is none.
func LoadMark(path string) (m Mark, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, fmt.Errorf("binlog: %w", err)
	}
	m, err = ParseMark(b)
	if err != nil {
		return Mark{}, false, fmt.Errorf("binlog: mark %s: %w", path, err)
	}
	return m, true, nil
}

// ParseMark decodes a mark file's content.
func ParseMark(b []byte) (Mark, error) {
	kv := parseINI(b)
	var m Mark
	num := func(k string, dst *int64) error {
		v, ok := kv[k]
		if !ok {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: %s=%q", ErrBadRecord, k, v)
		}
		*dst = n
		return nil
	}
	var idx, need, done int64
	for k, dst := range map[string]*int64{
		"binlog_index": &idx, "binlog_offset": &m.Pos.Offset, "need_sync_old": &need,
		"sync_old_done": &done, "until_timestamp": &m.UntilTS, "scan_row_count": &m.ScanRows,
		"sync_row_count": &m.SyncRows,
	} {
		if err := num(k, dst); err != nil {
			return Mark{}, err
		}
	}
	if _, ok := kv["binlog_index"]; !ok {
		return Mark{}, fmt.Errorf("%w: no binlog_index", ErrBadRecord)
	}
	if idx > 1<<30 {
		return Mark{}, fmt.Errorf("%w: binlog_index %d", ErrBadRecord, idx)
	}
	m.Pos.Index, m.NeedSyncOld, m.SyncOldDone = int(idx), need != 0, done != 0
	return m, nil
}

// Bytes encodes the mark.
func (m Mark) Bytes() []byte {
	b2i := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	return fmt.Appendf(nil, "binlog_index=%d\nbinlog_offset=%d\nneed_sync_old=%d\nsync_old_done=%d\nuntil_timestamp=%d\nscan_row_count=%d\nsync_row_count=%d\n",
		m.Pos.Index, m.Pos.Offset, b2i(m.NeedSyncOld), b2i(m.SyncOldDone), m.UntilTS, m.ScanRows, m.SyncRows)
}

// Save writes the mark atomically.
func (m Mark) Save(path string) error {
	return writeFileAtomic(path, m.Bytes())
}
