package tracker

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

const (
	keyA = "127.0.0.2:23000" // the source of the files below
	keyB = "127.0.0.3:23000"
	keyC = "127.0.0.4:23000"
)

func fetchAll(e *env, id string) (string, error) {
	r, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: id, All: true})
	var keys []string
	for _, s := range r.GetStorages() {
		keys = append(keys, s.GetKey())
	}
	return strings.Join(keys, ","), err
}

func TestFetchEligibility(t *testing.T) {
	const age = 100 // seconds since the file was created, unless a case says otherwise
	tests := []struct {
		name  string
		age   int64
		syncB []*trackerpb.SyncProgress
		want  string
	}{
		{"new file: only the source", age, nil, keyA},
		{"older than max_delay: everyone", 86401, nil, keyA + "," + keyB + "," + keyC},
		{"exactly max_delay: only the source", 86400, nil, keyA},
		{"B synced past the file", age, []*trackerpb.SyncProgress{{PeerKey: keyA, LastSyncedTs: 1}}, keyA + "," + keyB},
		{"B synced to the file's second, max_time not passed", age, []*trackerpb.SyncProgress{{PeerKey: keyA, LastSyncedTs: 0}}, keyA},
		{"B synced to ts-1 after max_time", 301, []*trackerpb.SyncProgress{{PeerKey: keyA, LastSyncedTs: -1}}, keyA + "," + keyB},
		{"B synced to ts-2 after max_time", 301, []*trackerpb.SyncProgress{{PeerKey: keyA, LastSyncedTs: -2}}, keyA},
		{"B synced from another peer only", age, []*trackerpb.SyncProgress{{PeerKey: keyC, LastSyncedTs: 1}}, keyA + "," + keyB},
		{"B synced from the source counts over others", age, []*trackerpb.SyncProgress{
			{PeerKey: keyC, LastSyncedTs: 50}, {PeerKey: keyA, LastSyncedTs: -5}}, keyA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
				e.active("g1", ip, 900)
			}
			ts := e.clock.Now().Unix() - tt.age
			for _, p := range tt.syncB {
				p.LastSyncedTs += ts // relative to the file's timestamp
			}
			if _, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "g1", StorageKey: keyB, Sync: tt.syncB}); err != nil {
				t.Fatal(err)
			}
			got, err := fetchAll(e, fileID(t, "g1", "127.0.0.2", ts, fileid.Normal))
			if err != nil || got != tt.want {
				t.Fatalf("eligible = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFetchOne(t *testing.T) {
	e := start(t, nil)
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		e.active("g1", ip, 900)
	}
	old := fileID(t, "g1", "127.0.0.2", e.clock.Now().Unix()-90000, fileid.Normal)
	fresh := fileID(t, "g1", "127.0.0.2", e.clock.Now().Unix()-10, fileid.Normal)
	appender := fileID(t, "g1", "127.0.0.2", e.clock.Now().Unix()-90000, fileid.Appender)
	one := func(id string) string {
		t.Helper()
		r, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: id})
		if err != nil {
			t.Fatalf("fetch %s: %v", id, err)
		}
		return r.GetStorages()[0].GetKey()
	}
	var got []string
	for range 4 {
		got = append(got, one(old))
	}
	sameList(t, got, []string{keyA, keyB, keyC, keyA})
	if k := one(fresh); k != keyA {
		t.Fatalf("fresh file from %s", k)
	}
	if k, _ := fetchAll(e, appender); k != keyA {
		t.Fatalf("appender (all) from %s", k)
	}
	if k := one(appender); k != keyA {
		t.Fatalf("appender from %s", k)
	}
	// The source goes away: a fresh file falls back to the first readable storage.
	e.clock.Add(9 * time.Second)
	e.beat("g1", keyB, false)
	e.beat("g1", keyC, false)
	e.clock.Add(time.Second)
	e.srv.Sweep()
	if k := one(fresh); k != keyB {
		t.Fatalf("fresh file with source offline from %s", k)
	}
	_, err := fetchAll(e, fresh)
	wantCode(t, err, codes.NotFound)
}

func TestDownloadServerSourceFirst(t *testing.T) {
	e := start(t, func(c *Config) { c.Tracker.DownloadServer = 1 })
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		e.active("g1", ip, 900)
	}
	old := fileID(t, "g1", "127.0.0.2", e.clock.Now().Unix()-90000, fileid.Normal)
	for range 3 {
		r, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: old})
		if err != nil || r.GetStorages()[0].GetKey() != keyA {
			t.Fatalf("fetch = %v, %v", r, err)
		}
	}
}

func TestQueryUpdate(t *testing.T) {
	e := start(t, nil)
	e.active("g1", "127.0.0.2", 900)
	e.active("g1", "127.0.0.3", 900)
	id := fileID(t, "g1", "127.0.0.2", e.clock.Now().Unix(), fileid.Normal)
	other := fileID(t, "g1", "10.9.9.9", e.clock.Now().Unix(), fileid.Normal)
	upd := func(id string) (string, error) {
		r, err := e.cli.QueryUpdate(e.ctx(), &trackerpb.QueryFileRequest{FileId: id})
		return r.GetStorage().GetKey(), err
	}
	if k, err := upd(id); k != keyA || err != nil {
		t.Fatalf("update = %q, %v", k, err)
	}
	if k, err := upd(other); k != keyA || err != nil {
		t.Fatalf("unknown source: update = %q, %v", k, err)
	}
	e.clock.Add(9 * time.Second)
	e.beat("g1", keyB, false)
	e.clock.Add(time.Second)
	e.srv.Sweep()
	if k, err := upd(id); k != keyB || err != nil {
		t.Fatalf("source offline: update = %q, %v", k, err)
	}
	e.clock.Add(time.Minute)
	e.srv.Sweep()
	_, err := upd(id)
	wantCode(t, err, codes.NotFound)
}

func TestQueryFileErrors(t *testing.T) {
	e := start(t, nil)
	e.active("g1", "127.0.0.2", 900)
	tests := []struct {
		name string
		id   string
		want codes.Code
	}{
		{"garbage", "g1/M00/00/00/nope", codes.InvalidArgument},
		{"empty", "", codes.InvalidArgument},
		{"unknown group", fileID(t, "g9", "127.0.0.2", 1, fileid.Normal), codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: tt.id})
			wantCode(t, err, tt.want)
			_, err = e.cli.QueryUpdate(e.ctx(), &trackerpb.QueryFileRequest{FileId: tt.id})
			wantCode(t, err, tt.want)
		})
	}
}

func TestLastSynced(t *testing.T) {
	reports := []meta.Sync{{Peer: "p1", LastSyncedTS: 50}, {Peer: "p2", LastSyncedTS: 20}, {Peer: "p3", LastSyncedTS: 80}}
	tests := []struct {
		name        string
		storeServer int
		from        string
		want        int64
	}{
		{"round robin: min over peers", 0, "", 20},
		{"other modes: max over peers", 1, "", 80},
		{"from a known source", 0, "p3", 80},
		{"from an unknown source: aggregate", 2, "p9", 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{Tracker: testTrackerConf()}}
			s.cfg.Tracker.StoreServer = tt.storeServer
			if got := s.lastSynced(&meta.Storage{Sync: reports}, tt.from); got != tt.want {
				t.Fatalf("lastSynced = %d", got)
			}
		})
	}
	if got := (&Server{}).lastSynced(&meta.Storage{}, ""); got != 0 {
		t.Fatalf("no reports: %d", got)
	}
}
