package tracker

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/depotfs/depot/proto/trackerpb"
)

// TestLeave: a storage that leaves is OFFLINE at once (no upload or download goes to it, its
// group's members see the change), survives a restart as OFFLINE, and its next heartbeat
// brings it back.
func TestLeave(t *testing.T) {
	e := start(t, nil)
	a := e.active("group1", "127.0.0.2", 900)
	b := e.active("group1", "127.0.0.3", 900)
	id := fileID(t, "group1", "127.0.0.2", e.clock.Now().Unix()-100000, 0)

	resp, err := e.cli.Leave(e.ctx(), &trackerpb.LeaveRequest{Group: "group1", StorageKey: a})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != trackerpb.StorageStatus_STORAGE_STATUS_OFFLINE || e.status("group1", a) != "OFFLINE" {
		t.Fatalf("after Leave: answer %v, listed %s; want OFFLINE", resp.GetStatus(), e.status("group1", a))
	}
	if hb := e.beat("group1", b, false); !hb.GetChanged() {
		t.Error("the other member's heartbeat does not report the change")
	}
	for range 4 {
		st, err := e.cli.QueryStore(e.ctx(), &trackerpb.QueryStoreRequest{})
		if err != nil || st.GetStorage().GetKey() != b {
			t.Fatalf("upload went to %v, %v", st.GetStorage().GetKey(), err)
		}
		f, err := e.cli.QueryFetch(e.ctx(), &trackerpb.QueryFileRequest{FileId: id, All: true})
		if err != nil || len(f.GetStorages()) != 1 || f.GetStorages()[0].GetKey() != b {
			t.Fatalf("download from %v, %v", f.GetStorages(), err)
		}
	}
	e.restart()
	if got := e.status("group1", a); got != "OFFLINE" {
		t.Fatalf("after a tracker restart: %s, want OFFLINE", got)
	}
	if got := e.beat("group1", a, false).GetStatus(); got != stActive {
		t.Fatalf("heartbeat after leaving: %v, want ACTIVE", got)
	}
	// Unknown storages are NOT_FOUND; an empty group finds the storage by key.
	_, err = e.cli.Leave(e.ctx(), &trackerpb.LeaveRequest{Group: "group1", StorageKey: "127.0.0.9:23000"})
	wantCode(t, err, codes.NotFound)
	if _, err := e.cli.Leave(e.ctx(), &trackerpb.LeaveRequest{StorageKey: a}); err != nil || e.status("group1", a) != "OFFLINE" {
		t.Fatalf("Leave without group: %v, %s", err, e.status("group1", a))
	}
}
