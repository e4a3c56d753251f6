package meta

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tracker.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

func sampleStorage(group, key string) Storage {
	now := time.Unix(1_700_000_000, 0).UTC()
	return Storage{
		Group: group, Key: key, Addr: "127.0.0.2", Port: 23000, HTTPURL: "http://127.0.0.2:8888",
		RW: "both", Status: StatusActive, StorePathCount: 2, SubdirCount: 256, UploadPriority: 10,
		JoinTime: now, UpTime: now, LastHeartbeat: now.Add(time.Minute), HasFiles: true,
		Disk: []Disk{{PathIndex: 0, Total: 100, Free: 50}, {PathIndex: 1, Total: 100, Free: 70}},
		Sync: []Sync{{Peer: "127.0.0.3:23000", LastSyncedTS: 1_700_000_000, InitialCopyDone: true}},
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	d, path := openTemp(t)
	g := Group{Name: "group1", StorePathCount: 2, SubdirCount: 256, Created: time.Unix(1, 0).UTC()}
	if err := d.PutGroup(g); err != nil {
		t.Fatal(err)
	}
	s1, s2 := sampleStorage("group1", "127.0.0.2:23000"), sampleStorage("group2", "100001")
	if err := d.PutStorages([]Storage{s2, s1}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutCursors(map[string]uint64{"write_group": 3, "server/group1": 7}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gs, err := d.Groups()
	if err != nil || !reflect.DeepEqual(gs, []Group{g}) {
		t.Fatalf("groups = %+v, %v", gs, err)
	}
	ss, err := d.Storages()
	if err != nil || !reflect.DeepEqual(ss, []Storage{s1, s2}) {
		t.Fatalf("storages = %+v, %v", ss, err)
	}
	c, err := d.Cursors()
	if err != nil || c["write_group"] != 3 || c["server/group1"] != 7 {
		t.Fatalf("cursors = %v, %v", c, err)
	}
	got, err := d.Storage("group2", "100001")
	if err != nil || !reflect.DeepEqual(got, s2) {
		t.Fatalf("storage = %+v, %v", got, err)
	}
}

func TestStorageNotFoundAndRemove(t *testing.T) {
	d, _ := openTemp(t)
	if _, err := d.Storage("group1", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing storage: %v", err)
	}
	s := sampleStorage("group1", "x")
	if err := d.PutStorage(s); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveStorage("group1", "x"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveStorage("group1", "x"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if ss, _ := d.Storages(); len(ss) != 0 {
		t.Fatalf("storages after remove = %v", ss)
	}
}

func TestPutRejectsEmptyNames(t *testing.T) {
	d, _ := openTemp(t)
	tests := []struct {
		name string
		err  error
	}{
		{"group without name", d.PutGroup(Group{})},
		{"storage without key", d.PutStorage(Storage{Group: "g"})},
		{"storage without group", d.PutStorage(Storage{Key: "k"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestCorruptRecordsAndSchema(t *testing.T) {
	d, path := openTemp(t)
	raw := d.db
	if err := raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStorages).Put([]byte("g\x00k"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Storages(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt storage: %v", err)
	}
	if err := raw.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInfo).Put(keySchema, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("open with schema 99: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing", "x.db"), Options{}); err == nil {
		t.Fatal("open in a missing directory succeeded")
	}
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte("not a bolt file, definitely not"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad, Options{Timeout: time.Second}); err == nil {
		t.Fatal("open of a non-bbolt file succeeded")
	}
}

func TestStatusNames(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{StatusInit, "INIT"}, {StatusWaitSync, "WAIT_SYNC"}, {StatusSyncing, "SYNCING"},
		{StatusIPChanged, "IP_CHANGED"}, {StatusDeleted, "DELETED"}, {StatusOffline, "OFFLINE"},
		{StatusOnline, "ONLINE"}, {StatusActive, "ACTIVE"}, {StatusRecovery, "RECOVERY"},
		{Status(8), "UNKNOWN(8)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.s.String(); got != tt.want {
				t.Fatalf("String() = %q", got)
			}
			if tt.s.Valid() != (tt.s != 8) {
				t.Fatalf("Valid() = %v", tt.s.Valid())
			}
		})
	}
}

func TestCloneSharesNothing(t *testing.T) {
	s := sampleStorage("g", "k")
	c := s.Clone()
	c.Disk[0].Free = 1
	c.Sync[0].Peer = "other"
	if s.Disk[0].Free != 50 || s.Sync[0].Peer != "127.0.0.3:23000" {
		t.Fatal("clone shares slices")
	}
}

func FuzzDecodeStorage(f *testing.F) {
	f.Add([]byte(`{"group":"g","key":"k","status":7}`))
	f.Add([]byte(`{"group":"g","key":"k","status":8}`))
	f.Add([]byte(`{"group":"g","key":"k","disk":[{"path_index":0,"total":1,"free":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeStorage(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if s.Group == "" || s.Key == "" || !s.Status.Valid() {
			t.Fatalf("accepted invalid record %+v", s)
		}
	})
}

func FuzzDecodeGroup(f *testing.F) {
	f.Add([]byte(`{"name":"group1","store_path_count":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeGroup(data)
		if err == nil && g.Name == "" {
			t.Fatal("accepted a group without a name")
		}
	})
}

func TestStorageEqual(t *testing.T) {
	s := sampleStorage("g", "k")
	tests := []struct {
		name string
		edit func(*Storage)
		want bool
	}{
		{"copy", func(*Storage) {}, true},
		{"disk", func(o *Storage) { o.Disk[1].Free++ }, false},
		{"sync", func(o *Storage) { o.Sync[0].LagFiles = 3 }, false},
		{"status", func(o *Storage) { o.Status = StatusOffline }, false},
		{"heartbeat", func(o *Storage) { o.LastHeartbeat = o.LastHeartbeat.Add(time.Second) }, false},
		{"empty vs nil", func(o *Storage) { o.Sync = []Sync{} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := s.Clone()
			tt.edit(&o)
			if tt.name == "empty vs nil" {
				s := s.Clone()
				s.Sync = nil
				if got := s.Equal(o); got != tt.want {
					t.Fatalf("Equal = %v", got)
				}
				return
			}
			if got := s.Equal(o); got != tt.want {
				t.Fatalf("Equal = %v", got)
			}
		})
	}
}
