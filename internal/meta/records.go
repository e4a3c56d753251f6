package meta

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Group is a group of storages that hold the same files.
type Group struct {
	Name           string    `json:"name"`
	StorePathCount int       `json:"store_path_count"` // the largest store_path_count joined
	SubdirCount    int       `json:"subdir_count"`     // subdir_count_per_path of the group
	Created        time.Time `json:"created"`
	TrunkServer    string    `json:"trunk_server,omitempty"` // key of the trunk server (use_trunk_file)
	TrunkEpoch     uint32    `json:"trunk_epoch,omitempty"`  // trunk server appointments so far
}

// Disk is the usage of one store path.
type Disk struct {
	PathIndex int    `json:"path_index"`
	Total     uint64 `json:"total"`
	Free      uint64 `json:"free"`
}

// Sync is what a storage has received from one peer of its group.
type Sync struct {
	Peer            string `json:"peer"`
	LastSyncedTS    int64  `json:"last_synced_ts"`
	LagFiles        int64  `json:"lag_files"`
	LagBytes        int64  `json:"lag_bytes"`
	InitialCopyDone bool   `json:"initial_copy_done"`
}

// Storage is one storage server as the tracker knows it.
type Storage struct {
	Group          string    `json:"group"`
	Key            string    `json:"key"` // storage id, or "addr:port"
	ID             string    `json:"id,omitempty"`
	Addr           string    `json:"addr"`
	Port           int       `json:"port"`
	HTTPURL        string    `json:"http_url,omitempty"`
	RW             string    `json:"rw"` // "both", "read", "write" or "none"
	Status         Status    `json:"status"`
	StorePathCount int       `json:"store_path_count"`
	SubdirCount    int       `json:"subdir_count"`
	UploadPriority int       `json:"upload_priority"`
	Version        string    `json:"version,omitempty"`
	Added          time.Time `json:"added"` // when this tracker (re)created the record
	JoinTime       time.Time `json:"join_time"`
	UpTime         time.Time `json:"up_time"`
	LastHeartbeat  time.Time `json:"last_heartbeat"`
	HasFiles       bool      `json:"has_files"`
	Disk           []Disk    `json:"disk,omitempty"`
	Sync           []Sync    `json:"sync,omitempty"`
	SyncSource     string    `json:"sync_source,omitempty"` // member copying its files here
	SyncUntil      int64     `json:"sync_until,omitempty"`  // Unix time the initial copy covers
}

// Clone returns a copy of s that shares no slices with it.
func (s Storage) Clone() Storage {
	s.Disk = append([]Disk(nil), s.Disk...)
	s.Sync = append([]Sync(nil), s.Sync...)
	return s
}

// Equal reports whether s and o hold the same values (times compared with ==, so a copy is
// equal to its original; nil and empty slices are equal).
func (s Storage) Equal(o Storage) bool {
	return reflect.DeepEqual(s.norm(), o.norm())
}

func (s Storage) norm() Storage {
	if len(s.Disk) == 0 {
		s.Disk = nil
	}
	if len(s.Sync) == 0 {
		s.Sync = nil
	}
	return s
}

// storageKey is the bbolt key of a storage record.
func storageKey(group, key string) []byte {
	return []byte(group + "\x00" + key)
}

// DecodeStorage parses a stored storage record.
func DecodeStorage(data []byte) (Storage, error) {
	var s Storage
	if err := json.Unmarshal(data, &s); err != nil {
		return Storage{}, fmt.Errorf("%w: storage record: %v", ErrCorrupt, err)
	}
	if s.Group == "" || s.Key == "" || !s.Status.Valid() {
		return Storage{}, fmt.Errorf("%w: storage record %q/%q status %d", ErrCorrupt, s.Group, s.Key, s.Status)
	}
	return s, nil
}

// DecodeGroup parses a stored group record.
func DecodeGroup(data []byte) (Group, error) {
	var g Group
	if err := json.Unmarshal(data, &g); err != nil {
		return Group{}, fmt.Errorf("%w: group record: %v", ErrCorrupt, err)
	}
	if g.Name == "" {
		return Group{}, fmt.Errorf("%w: group record without a name", ErrCorrupt)
	}
	return g, nil
}
