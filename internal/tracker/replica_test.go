package tracker

import (
	"testing"

	"github.com/depotfs/depot/proto/trackerpb"
)

// TestWipedStorageWaitsForSync: a storage that reported files and joins again without any
// (its disk was replaced) waits for a full copy like a new one, while a restart that
// keeps its files goes straight back.
func TestWipedStorageWaitsForSync(t *testing.T) {
	tests := []struct {
		name     string
		hasFiles bool
		want     string
	}{
		{"files kept", true, "ACTIVE"},
		{"disk replaced", false, "WAIT_SYNC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			a := e.active("group1", "127.0.0.2", 900)
			b := e.active("group1", "127.0.0.3", 900)
			e.beat("group1", a, true, 900)
			e.beat("group1", b, true, 900)
			j := e.join("group1", "127.0.0.3", func(r *trackerpb.JoinRequest) { r.HasFiles = tt.hasFiles })
			e.beat("group1", b, tt.hasFiles, 900)
			if got := e.status("group1", b); got != tt.want {
				t.Fatalf("after rejoin (join said %v): %s, want %s", j.GetStatus(), got, tt.want)
			}
			if tt.want != "WAIT_SYNC" {
				return
			}
			for _, m := range j.GetMembers() {
				if m.GetKey() == b && m.GetSyncSourceKey() != a {
					t.Fatalf("sync source %q, want %q", m.GetSyncSourceKey(), a)
				}
			}
		})
	}
}
