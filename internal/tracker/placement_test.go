package tracker

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/proto/trackerpb"
)

// uploads asks for n upload targets and returns "group key path" strings.
func (e *env) uploads(n int, group string) []string {
	e.t.Helper()
	var out []string
	for range n {
		r, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{Group: group})
		if err != nil {
			e.t.Fatalf("query store: %v", err)
		}
		out = append(out, r.GetGroup()+" "+r.GetStorage().GetKey()+" "+string(rune('0'+r.GetStorePathIndex())))
	}
	return out
}

func sameList(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestPlacementModes(t *testing.T) {
	const (
		a = "127.0.0.2:23000"
		b = "127.0.0.3:23000"
		c = "127.0.0.4:23000"
	)
	tests := []struct {
		name  string
		edit  func(*conf.Tracker)
		group string
		want  []string
	}{
		{"lookup 0 round robin groups, server 0 round robin", func(t *conf.Tracker) {}, "",
			[]string{"g1 " + a + " 0", "g2 " + c + " 0", "g1 " + b + " 0", "g2 " + c + " 0"}},
		{"lookup 1 store_group", func(t *conf.Tracker) { t.StoreLookup, t.StoreGroup = 1, "g2" }, "",
			[]string{"g2 " + c + " 0", "g2 " + c + " 0"}},
		{"lookup 2 most free group", func(t *conf.Tracker) { t.StoreLookup = 2 }, "",
			[]string{"g2 " + c + " 0", "g2 " + c + " 0"}},
		{"request names the group", func(t *conf.Tracker) { t.StoreLookup = 2 }, "g1",
			[]string{"g1 " + a + " 0", "g1 " + b + " 0", "g1 " + a + " 0"}},
		{"server 1 first", func(t *conf.Tracker) { t.StoreServer = 1 }, "g1",
			[]string{"g1 " + a + " 0", "g1 " + a + " 0"}},
		{"server 2 lowest upload_priority", func(t *conf.Tracker) { t.StoreServer = 2 }, "g1",
			[]string{"g1 " + b + " 0", "g1 " + b + " 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, func(c *Config) { tt.edit(&c.Tracker) })
			e.join("g1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.UploadPriority = 10 })
			e.join("g1", "127.0.0.3", func(r *trackerpb.JoinRequest) { r.UploadPriority = 5 })
			e.beat("g1", a, false, 500)
			e.beat("g1", b, false, 500)
			e.active("g2", "127.0.0.4", 900)
			sameList(t, e.uploads(len(tt.want), tt.group), tt.want)
		})
	}
}

func TestStorePathModes(t *testing.T) {
	tests := []struct {
		name string
		mode int
		free []uint64
		want []string
	}{
		{"round robin", 0, []uint64{500, 500, 500}, []string{"0", "1", "2", "0"}},
		{"round robin skips a full path", 0, []uint64{500, 50, 500}, []string{"0", "2", "0"}},
		{"most free", 2, []uint64{500, 800, 700}, []string{"1", "1"}},
		{"most free ignores a full path", 2, []uint64{500, 99, 700}, []string{"2", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, func(c *Config) { c.Tracker.StorePath = tt.mode })
			key := e.join("g1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.StorePathCount = 3 }).GetStorageKey()
			e.beat("g1", key, false, tt.free...)
			var got []string
			for _, u := range e.uploads(len(tt.want), "") {
				got = append(got, u[len(u)-1:])
			}
			sameList(t, got, tt.want)
		})
	}
}

func TestFullGroupSkipped(t *testing.T) {
	for _, lookup := range []int{0, 2} {
		t.Run(string(rune('0'+lookup)), func(t *testing.T) {
			e := start(t, func(c *Config) { c.Tracker.StoreLookup = lookup })
			e.active("g1", "127.0.0.2", 50) // within the 100-byte reserve
			full2 := e.active("g2", "127.0.0.3", 900)
			e.active("g2", "127.0.0.4", 900)
			for _, u := range e.uploads(4, "") {
				if u[:2] != "g2" {
					t.Fatalf("upload to full group: %s", u)
				}
			}
			_, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{Group: "g1"})
			wantCode(t, err, codes.ResourceExhausted)
			// A group is as full as its fullest writable storage.
			e.beat("g2", full2, false, 10)
			_, err = e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
			wantCode(t, err, codes.ResourceExhausted)
		})
	}
}

func TestReservedPercentage(t *testing.T) {
	e := start(t, func(c *Config) { c.Tracker.ReservedStorageSpace = conf.Reserved{Percent: 20} })
	key := e.join("g1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 }).GetStorageKey()
	e.beat("g1", key, false, 150, 300) // path 0 below 20 % of 1000
	sameList(t, e.uploads(2, ""), []string{"g1 " + key + " 1", "g1 " + key + " 1"})
	e.beat("g1", key, false, 150, 150) // storage 300/2000 = 15 %
	_, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
	wantCode(t, err, codes.ResourceExhausted)
}

func TestQueryStoreErrors(t *testing.T) {
	e := start(t, nil)
	_, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
	wantCode(t, err, codes.NotFound)
	_, err = e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{Group: "nope"})
	wantCode(t, err, codes.NotFound)
	e.join("g1", "127.0.0.2", nil) // ONLINE: not writable yet
	_, err = e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{Group: "g1"})
	wantCode(t, err, codes.NotFound)
}

func TestNoDiskReportAssumesSpace(t *testing.T) {
	e := start(t, nil)
	key := e.active("g1", "127.0.0.2")
	sameList(t, e.uploads(1, ""), []string{"g1 " + key + " 0"})
}

func TestStorageWithFullPathsPassedOver(t *testing.T) {
	// A percentage reserve is checked on the group's least-free storage (by bytes), so a
	// bigger storage whose every path is within the reserve can pass the group check. The
	// upload then goes to another writable storage of the group.
	e := start(t, func(c *Config) {
		c.Tracker.ReservedStorageSpace = conf.Reserved{Percent: 20}
		c.Tracker.StoreServer = 1 // the first by key, a, unless it has no room
	})
	a := e.join("g1", "127.0.0.2", func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 }).GetStorageKey()
	b := e.join("g1", "127.0.0.3", func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 }).GetStorageKey()
	report := func(key string, total, free uint64) {
		t.Helper()
		var disk []*trackerpb.DiskUsage
		for i := range 2 {
			disk = append(disk, &trackerpb.DiskUsage{PathIndex: int32(i), TotalBytes: total, FreeBytes: free})
		}
		if _, err := e.cli.Heartbeat(e.ctx(), &trackerpb.HeartbeatRequest{Group: "g1", StorageKey: key, Disk: disk}); err != nil {
			t.Fatal(err)
		}
	}
	report(a, 10000, 1900) // 19 % on each path, 3800 bytes free
	report(b, 1000, 300)   // 30 %, 600 bytes free: the group's least-free storage
	sameList(t, e.uploads(2, ""), []string{"g1 " + b + " 0", "g1 " + b + " 1"})
	report(b, 1000, 150)
	_, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
	wantCode(t, err, codes.ResourceExhausted)
}
