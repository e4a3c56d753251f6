package tracker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/proto/trackerpb"
)

func TestParameters(t *testing.T) {
	e := start(t, func(c *Config) {
		c.Tracker.ReservedStorageSpace = conf.Reserved{Percent: 20}
		c.Tracker.UseTrunkFile = true
		c.Tracker.StorePath = 2
	})
	r, err := e.cli.GetParameters(e.ctx(), &trackerpb.GetParametersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range r.GetParams() {
		lines = append(lines, p.GetKey()+"="+p.GetValue())
	}
	want := []string{
		"use_storage_id=0", "id_type_in_filename=ip", "trust_storage_server_id=1",
		"response_ip_addr_size=auto", "storage_ip_changed_auto_adjust=1",
		"storage_sync_file_max_delay=86400", "store_path=2", "reserved_storage_space=20.00%",
		"use_trunk_file=1", "slot_min_size=256", "slot_max_size=8388608",
		"trunk_alloc_alignment_size=0", "trunk_file_size=67108864", "trunk_create_file_advance=0",
		"trunk_create_file_time_base=02:00", "trunk_create_file_interval=86400",
		"trunk_create_file_space_threshold=0", "trunk_init_check_occupying=0",
		"trunk_init_reload_from_binlog=0", "trunk_free_space_merge=0", "delete_unused_trunk_files=0",
		"trunk_compress_binlog_min_interval=0", "trunk_compress_binlog_interval=0",
		"trunk_compress_binlog_time_base=03:00", "trunk_binlog_max_backups=0",
		"store_slave_file_use_link=0",
	}
	sameList(t, lines, want)
	// Join carries the same list.
	if j := e.join("g1", "127.0.0.2", nil); len(j.GetParameters()) != len(want) {
		t.Fatalf("join parameters: %d", len(j.GetParameters()))
	}
	if len(r.GetStorageIds()) != 0 {
		t.Fatalf("storage ids without use_storage_id: %v", r.GetStorageIds())
	}
}

func TestReservedFormat(t *testing.T) {
	tests := []struct {
		r    conf.Reserved
		want string
	}{
		{conf.Reserved{Percent: 20}, "20.00%"},
		{conf.Reserved{Percent: 12.5}, "12.50%"},
		{conf.Reserved{Bytes: 1024 << 20}, "1024MB"},
		{conf.Reserved{Bytes: 1000}, "1000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := reserved(tt.r); got != tt.want {
				t.Fatalf("reserved = %q", got)
			}
		})
	}
}

// withStorageIDs uses FastDFS's shipped storage_ids.conf. Its first two lines have no port
// and its third has one, which Depot's parser rejects (all or none), so the first two get
// FastDFS's default port 23000 here.
func withStorageIDs(t *testing.T) func(*Config) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fastdfs-conf", "storage_ids.conf"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("192.168.0.196\n", "192.168.0.196:23000\n", "192.168.0.197\n", "192.168.0.197:23000\n").Replace(string(data))
	ids, err := conf.ParseStorageIDs("storage_ids.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) {
		c.Tracker.UseStorageID, c.Tracker.IDTypeInFilename = true, "id"
		c.StorageIDs = ids
	}
}

func TestStorageIDs(t *testing.T) {
	e := start(t, withStorageIDs(t))
	// Known by address: the id and group come from storage_ids.conf.
	j := e.join("", "192.168.0.196", nil)
	if j.GetStorageKey() != "100001" || j.GetGroup() != "group1" {
		t.Fatalf("join by address: key %q group %q", j.GetStorageKey(), j.GetGroup())
	}
	// Known by the id it sends (trust_storage_server_id).
	j = e.join("group1", "127.0.0.5", func(r *trackerpb.JoinRequest) { r.StorageId = "100002" })
	if j.GetStorageKey() != "100002" {
		t.Fatalf("join by id: key %q", j.GetStorageKey())
	}
	tests := []struct {
		name string
		edit func(*trackerpb.JoinRequest)
		want codes.Code
	}{
		{"unknown address", func(r *trackerpb.JoinRequest) { r.Addr = "10.1.1.1" }, codes.PermissionDenied},
		{"unknown id", func(r *trackerpb.JoinRequest) { r.StorageId = "999" }, codes.PermissionDenied},
		{"wrong group", func(r *trackerpb.JoinRequest) { r.Group = "group2" }, codes.InvalidArgument},
		{"wrong port", func(r *trackerpb.JoinRequest) { r.StorageId, r.Port = "100003", 23000 }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &trackerpb.JoinRequest{Addr: "192.168.0.197", Port: 23000}
			tt.edit(req)
			_, err := e.cli.Join(e.ctx(), req)
			wantCode(t, err, tt.want)
		})
	}
	// rw=none: ACTIVE but never chosen for uploads or downloads. This one reports its IPv6
	// address, which storage ids allow.
	none := e.join("group1", "2409:8a20:42d:2f40:587a:4c47:72c0:ad8e", func(r *trackerpb.JoinRequest) { r.StorageId, r.Port = "100003", 23001 })
	e.beat("group1", "100001", false, 900)
	if got := e.beat("group1", none.GetStorageKey(), false, 900).GetStatus(); got != stActive {
		t.Fatalf("rw=none storage: %v", got)
	}
	for _, u := range e.uploads(3, "") {
		if !strings.Contains(u, " 100001 ") {
			t.Fatalf("upload to %s", u)
		}
	}
	// File names carry the id: the source is found by it.
	// A storage that learnt its group from the tracker may heartbeat without one.
	if _, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{StorageKey: "100002"}); err != nil {
		t.Fatalf("heartbeat without a group: %v", err)
	}
	id := fileIDFromServer(t, "group1", 100002, e.clock.Now().Unix())
	if got, err := fetchAll(e, id); got != "100002" || err != nil {
		t.Fatalf("fetch by id source = %q, %v", got, err)
	}
	p, err := e.cli.GetParameters(e.ctx(), &trackerpb.GetParametersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GetStorageIds()) != 3 || p.GetStorageIds()[2].GetRw() != conf.RWNone || p.GetParams()[1].GetValue() != "id" {
		t.Fatalf("parameters: %v", p)
	}
}
