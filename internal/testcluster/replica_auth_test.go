package testcluster

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/replicapb"
)

// replicaFrom returns a ReplicaService client to addr whose connections leave from host.
func replicaFrom(t *testing.T, host, addr string) replicapb.ReplicaServiceClient {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(host)}}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return d.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return replicapb.NewReplicaServiceClient(conn)
}

// TestReplicaServiceOnlyFromGroupMembers: replication calls are taken only from storages the
// trackers list for the group: an outsider's and another group's storage's are refused, a
// member's are served.
func TestReplicaServiceOnlyFromGroupMembers(t *testing.T) {
	c := Start(t, Options{Trackers: 1, Groups: []string{"group1", "group2"}, StoragesPerGroup: 2})
	var target, member, other *Storage
	for _, s := range c.Storages {
		switch {
		case s.Group == "group1" && target == nil:
			target = s
		case s.Group == "group1":
			member = s
		case other == nil:
			other = s
		}
	}
	c.Eventually("group1's storage lists its group", 10*time.Second, func() error {
		if n := len(target.Node().Members()); n < 2 {
			return fmt.Errorf("%d members listed", n)
		}
		return nil
	})
	progress := &replicapb.ProgressRequest{SenderKey: "6.6.6.6:23000", SyncedTs: 1}
	for name, host := range map[string]string{"outsider": "127.0.0.250", "storage of group2": other.Host} {
		_, err := replicaFrom(t, host, target.Addr()).Progress(t.Context(), progress)
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s (%s): Progress = %v, want PermissionDenied", name, host, err)
		}
	}
	if _, err := replicaFrom(t, member.Host, target.Addr()).Progress(t.Context(), &replicapb.ProgressRequest{SenderKey: member.Key(), SyncedTs: 1}); err != nil {
		t.Errorf("group member %s: Progress = %v", member.Host, err)
	}
}
