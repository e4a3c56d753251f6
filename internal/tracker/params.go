package tracker

import (
	"context"
	"strconv"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/proto/trackerpb"
)

// GetParameters returns the parameters storages load from the tracker and storage_ids.conf.
func (s *Server) GetParameters(ctx context.Context, req *trackerpb.GetParametersRequest) (*trackerpb.GetParametersResponse, error) {
	resp := &trackerpb.GetParametersResponse{Params: s.parameters()}
	if s.cfg.StorageIDs != nil {
		for _, e := range s.cfg.StorageIDs.Entries {
			resp.StorageIds = append(resp.StorageIds, &trackerpb.StorageIDEntry{
				Id: e.ID, Group: e.Group, Hosts: append([]string(nil), e.Hosts...), Port: int32(e.Port), Rw: e.RW,
			})
		}
	}
	return resp, nil
}

// parameters is FastDFS's list of parameters pushed to storages, in its order, booleans as
// 0/1, durations in seconds, sizes in bytes.
func (s *Server) parameters() []*trackerpb.Parameter {
	t := &s.cfg.Tracker
	idType := "ip"
	if t.UseStorageID && t.IDTypeInFilename == "id" {
		idType = "id"
	}
	kv := [][2]string{
		{"use_storage_id", flag(t.UseStorageID)},
		{"id_type_in_filename", idType},
		{"trust_storage_server_id", flag(t.TrustStorageServerID)},
		{"response_ip_addr_size", t.ResponseIPAddrSize},
		{"storage_ip_changed_auto_adjust", flag(t.StorageIPChangedAutoAdjust)},
		{"storage_sync_file_max_delay", secs(t.StorageSyncFileMaxDelay)},
		{"store_path", strconv.Itoa(t.StorePath)},
		{"reserved_storage_space", reserved(t.ReservedStorageSpace)},
		{"use_trunk_file", flag(t.UseTrunkFile)},
		{"slot_min_size", strconv.FormatInt(t.SlotMinSize, 10)},
		{"slot_max_size", strconv.FormatInt(t.SlotMaxSize, 10)},
		{"trunk_alloc_alignment_size", strconv.FormatInt(t.TrunkAllocAlignmentSize, 10)},
		{"trunk_file_size", strconv.FormatInt(t.TrunkFileSize, 10)},
		{"trunk_create_file_advance", flag(t.TrunkCreateFileAdvance)},
		{"trunk_create_file_time_base", t.TrunkCreateFileTimeBase.String()},
		{"trunk_create_file_interval", secs(t.TrunkCreateFileInterval)},
		{"trunk_create_file_space_threshold", strconv.FormatInt(t.TrunkCreateFileSpaceThreshold, 10)},
		{"trunk_init_check_occupying", flag(t.TrunkInitCheckOccupying)},
		{"trunk_init_reload_from_binlog", flag(t.TrunkInitReloadFromBinlog)},
		{"trunk_free_space_merge", flag(t.TrunkFreeSpaceMerge)},
		{"delete_unused_trunk_files", flag(t.DeleteUnusedTrunkFiles)},
		{"trunk_compress_binlog_min_interval", secs(t.TrunkCompressBinlogMinInterval)},
		{"trunk_compress_binlog_interval", secs(t.TrunkCompressBinlogInterval)},
		{"trunk_compress_binlog_time_base", t.TrunkCompressBinlogTimeBase.String()},
		{"trunk_binlog_max_backups", strconv.Itoa(t.TrunkBinlogMaxBackups)},
		{"store_slave_file_use_link", flag(t.StoreSlaveFileUseLink)},
	}
	out := make([]*trackerpb.Parameter, len(kv))
	for i, p := range kv {
		out[i] = &trackerpb.Parameter{Key: p[0], Value: p[1]}
	}
	return out
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

// reserved formats reserved_storage_space as FastDFS sends it: "NN.NN%" or a size in MB
// (bytes when not a whole number of MB).
func reserved(r conf.Reserved) string {
	if r.Percent > 0 {
		return strconv.FormatFloat(r.Percent, 'f', 2, 64) + "%"
	}
	if r.Bytes%(1<<20) == 0 {
		return strconv.FormatInt(r.Bytes>>20, 10) + "MB"
	}
	return strconv.FormatInt(r.Bytes, 10)
}
