package replica

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/replicapb"
)

// node is a store with its binlog, served by a Receiver on 127.0.0.1.
type node struct {
	store *disk.Store
	bl    *binlog.Writer
	recv  *Receiver
	conn  *grpc.ClientConn
}

func newNode(t *testing.T, source [4]byte) *node {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.Open(disk.Options{Group: "group1", Paths: []disk.PathConfig{{Dir: dir}}, SubdirCount: 2, Source: source,
		Statfs: func(string) (uint64, uint64, error) { return 1 << 40, 1 << 39, nil }})
	if err != nil {
		t.Fatal(err)
	}
	bl, err := binlog.OpenWriter(binlog.Options{Dir: dir + "/sync"})
	if err != nil {
		t.Fatal(err)
	}
	recv, err := NewReceiver(st, "group1", bl, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	replicapb.RegisterReplicaServiceServer(srv, recv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop(); bl.Close(); st.Close() })
	return &node{store: st, bl: bl, recv: recv, conn: conn}
}

func (n *node) upload(t *testing.T, b []byte, appender bool) fileid.ID {
	t.Helper()
	id, err := n.store.Upload(t.Context(), bytes.NewReader(b), disk.UploadOptions{PathIndex: -1, Size: int64(len(b)), Appender: appender})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func records(t *testing.T, bl *binlog.Writer) []binlog.Record {
	t.Helper()
	r := binlog.NewReader(bl.Dir(), binlog.Position{}, nil)
	defer r.Close()
	var out []binlog.Record
	for {
		rec, _, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func apply(t *testing.T, n *node, h *replicapb.ApplyHeader, body []byte) (*replicapb.ApplyResponse, error) {
	t.Helper()
	st, err := replicapb.NewReplicaServiceClient(n.conn).Apply(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&replicapb.ApplyRequest{Msg: &replicapb.ApplyRequest_Header{Header: h}})
	if body != nil {
		st.Send(&replicapb.ApplyRequest{Msg: &replicapb.ApplyRequest_Chunk{Chunk: body}})
	}
	return st.CloseAndRecv()
}

func TestReceiverApply(t *testing.T) {
	src := newNode(t, [4]byte{127, 0, 0, 1})
	dst := newNode(t, [4]byte{127, 0, 0, 2})
	body := []byte("hello replica")
	id := src.upload(t, body, false)
	crc := crc32.ChecksumIEEE(body)
	whole := func(ts int64) *replicapb.ApplyHeader {
		return &replicapb.ApplyHeader{SenderKey: "s", Op: "C", FileId: id.String(), Ts: ts, Whole: true, Size: int64(len(body)), Crc32: crc}
	}
	// A corrupt copy is refused and leaves nothing.
	if _, err := apply(t, dst, whole(10), []byte("hello replicA")); status.Code(err) != codes.DataLoss {
		t.Fatalf("corrupt copy: %v", err)
	}
	if _, err := dst.store.Stat(id); err == nil {
		t.Fatal("corrupt copy visible")
	}
	if _, err := apply(t, dst, whole(10), body); err != nil {
		t.Fatal(err)
	}
	if ok, _ := dst.store.HasReplica(id, int64(len(body)), crc); !ok {
		t.Fatal("copy not there")
	}
	// Delete, twice: the second of a missing file is fine.
	for range 2 {
		if _, err := apply(t, dst, &replicapb.ApplyHeader{SenderKey: "s", Op: "D", FileId: id.String(), Ts: 20}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A late copy older than the delete is dropped (tombstone).
	if _, err := apply(t, dst, whole(10), body); err != nil {
		t.Fatal(err)
	}
	if _, err := dst.store.Stat(id); err == nil {
		t.Fatal("a copy older than its delete came back")
	}
	// Append to a missing appender asks for a whole copy.
	ap := src.upload(t, []byte("abc"), true)
	resp, err := apply(t, dst, &replicapb.ApplyHeader{SenderKey: "s", Op: "A", FileId: ap.String(), Ts: 30, Offset: 3, Length: 2}, []byte("de"))
	if err != nil || !resp.GetNeedWhole() {
		t.Fatalf("append to missing: %v %v", resp, err)
	}
	got := records(t, dst.bl)
	want := []binlog.Op{'c', 'd', 'd'}
	if len(got) != len(want) {
		t.Fatalf("binlog %+v", got)
	}
	for i, r := range got {
		if r.Op != want[i] || r.Name != id.Remote() {
			t.Fatalf("binlog record %d: %+v", i, r)
		}
	}
	// A receiver restarted from that binlog still knows the delete.
	again, err := NewReceiver(dst.store, "group1", dst.bl, nil)
	if err != nil || !again.deletedAfter(id.Remote(), 10) {
		t.Fatalf("tombstone after restart: %v", err)
	}
}

func TestShip(t *testing.T) {
	normal := binlog.Mark{}
	catchUp := binlog.Mark{NeedSyncOld: true, UntilTS: 100}
	tests := []struct {
		m    binlog.Mark
		r    binlog.Record
		want bool
	}{
		{normal, binlog.Record{Op: 'C', TS: 5}, true},
		{normal, binlog.Record{Op: 'c', TS: 5}, false},
		{catchUp, binlog.Record{Op: 'c', TS: 100}, true},
		{catchUp, binlog.Record{Op: 'c', TS: 101}, false},
		{catchUp, binlog.Record{Op: 'd', TS: 500}, true},
		{catchUp, binlog.Record{Op: 'a', TS: 5}, false},
		{binlog.Mark{NeedSyncOld: true, SyncOldDone: true, UntilTS: 100}, binlog.Record{Op: 'c', TS: 5}, false},
	}
	for _, tt := range tests {
		if got := ship(tt.m, tt.r); got != tt.want {
			t.Errorf("ship(%+v, %+v) = %v", tt.m, tt.r, got)
		}
	}
}

func TestWindowCommitsInOrder(t *testing.T) {
	w := newWindow(binlog.Position{})
	a := w.add(binlog.Position{Offset: 10}, 1)
	b := w.add(binlog.Position{Offset: 20}, 2)
	c := w.add(binlog.Position{Offset: 30}, 3)
	if n := w.finish(b); n != 0 || w.start.Offset != 0 {
		t.Fatalf("b done before a moved the cursor to %+v", w.start)
	}
	if ts, _ := w.oldestTS(); ts != 1 {
		t.Fatalf("oldest in flight %d", ts)
	}
	if n := w.finish(a); n != 2 || w.start.Offset != 20 {
		t.Fatalf("after a: %d committed, cursor %+v", n, w.start)
	}
	w.finish(c)
	if w.pending() != 0 || w.start.Offset != 30 {
		t.Fatalf("after c: %d pending, cursor %+v", w.pending(), w.start)
	}
}
