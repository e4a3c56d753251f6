package trunk

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Params are the trunk keys of tracker.conf as the tracker pushes them to its storages
// (load_fdfs_parameters_from_tracker): sizes in bytes, booleans 0/1, durations in seconds.
type Params struct {
	Enabled        bool   // use_trunk_file
	SlotMinSize    uint32 // slot_min_size (already raised to trunk_alloc_alignment_size by the tracker)
	SlotMaxSize    uint32 // slot_max_size: a file goes to a slot when size + 24 <= it
	Alignment      uint32 // trunk_alloc_alignment_size (0: slots are size + 24, at least SlotMinSize)
	FileSize       uint32 // trunk_file_size
	Merge          bool   // trunk_free_space_merge
	DeleteUnused   bool   // delete_unused_trunk_files
	CreateAdvance  bool   // trunk_create_file_advance
	CreateTimeBase time.Duration
	CreateInterval time.Duration
	CreateSpace    int64 // trunk_create_file_space_threshold
}

// DefaultParams are tracker.conf's code defaults, with use_trunk_file on.
func DefaultParams() Params {
	return Params{
		Enabled: true, SlotMinSize: 256, SlotMaxSize: 8 << 20, FileSize: 64 << 20,
		CreateTimeBase: 2 * time.Hour, CreateInterval: 24 * time.Hour,
	}
}

// ParamsFrom reads the pushed parameters. Keys not there keep DefaultParams' values (with
// use_trunk_file off); a key with a value that does not parse is an error naming it.
func ParamsFrom(m map[string]string) (Params, error) {
	p := DefaultParams()
	p.Enabled = false
	var err error
	num := func(key string, dst *uint32) {
		v, ok := m[key]
		if !ok || err != nil {
			return
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			err = fmt.Errorf("trunk: parameter %s=%q: %w", key, v, perr)
			return
		}
		*dst = uint32(n)
	}
	flag := func(key string, dst *bool) {
		if v, ok := m[key]; ok {
			*dst = v == "1" || strings.EqualFold(v, "true")
		}
	}
	flag("use_trunk_file", &p.Enabled)
	num("slot_min_size", &p.SlotMinSize)
	num("slot_max_size", &p.SlotMaxSize)
	num("trunk_alloc_alignment_size", &p.Alignment)
	num("trunk_file_size", &p.FileSize)
	flag("trunk_free_space_merge", &p.Merge)
	flag("delete_unused_trunk_files", &p.DeleteUnused)
	flag("trunk_create_file_advance", &p.CreateAdvance)
	var secs uint32
	num("trunk_create_file_interval", &secs)
	if _, ok := m["trunk_create_file_interval"]; ok {
		p.CreateInterval = time.Duration(secs) * time.Second
	}
	if v, ok := m["trunk_create_file_space_threshold"]; ok && err == nil {
		if p.CreateSpace, err = strconv.ParseInt(v, 10, 64); err != nil {
			err = fmt.Errorf("trunk: parameter trunk_create_file_space_threshold=%q: %w", v, err)
		}
	}
	if v, ok := m["trunk_create_file_time_base"]; ok && err == nil {
		var hh, mm int
		if _, serr := fmt.Sscanf(v, "%d:%d", &hh, &mm); serr != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
			err = fmt.Errorf("trunk: parameter trunk_create_file_time_base=%q: want HH:MM", v)
		}
		p.CreateTimeBase = time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute
	}
	if err != nil {
		return Params{}, err
	}
	return p, p.Validate()
}

// Validate checks the relations FastDFS's tracker enforces.
func (p Params) Validate() error {
	switch {
	case p.SlotMinSize < HeaderSize:
		return fmt.Errorf("trunk: slot_min_size %d below the %d-byte slot header", p.SlotMinSize, HeaderSize)
	case p.SlotMaxSize <= p.SlotMinSize:
		return fmt.Errorf("trunk: slot_max_size %d not above slot_min_size %d", p.SlotMaxSize, p.SlotMinSize)
	case p.FileSize < p.SlotMaxSize:
		return fmt.Errorf("trunk: trunk_file_size %d below slot_max_size %d", p.FileSize, p.SlotMaxSize)
	}
	return nil
}

// Fits reports whether a file of size bytes goes to a trunk slot (size + 24 <= slot_max_size).
func (p Params) Fits(size int64) bool {
	return p.Enabled && size >= 0 && size+HeaderSize <= int64(p.SlotMaxSize)
}

// SlotSize is the slot a file of size bytes takes: size + 24, rounded up to
// trunk_alloc_alignment_size, at least slot_min_size.
func (p Params) SlotSize(size int64) uint32 {
	n := uint64(size) + HeaderSize
	if a := uint64(p.Alignment); a > 0 {
		n = (n + a - 1) / a * a
	}
	return uint32(max(n, uint64(p.SlotMinSize)))
}
