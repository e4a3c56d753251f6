package tracker_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/proto/trackerpb"
)

// A FastDFS client's whole path against real nodes, on the ports gRPC uses: ask the tracker
// where to upload, upload to that storage, ask where to download, download, delete; gRPC
// keeps working on both ports.
func TestNativeThroughTrackerAndStorage(t *testing.T) {
	tr := startTracker(t, true, nil)
	st := startStorage(t, tr.Addr())
	if tr.NativeAddr() != tr.Addr() || st.NativeAddr() != st.GRPCAddr() {
		t.Fatalf("native %s/%s, gRPC %s/%s: want the same ports", tr.NativeAddr(), st.NativeAddr(), tr.Addr(), st.GRPCAddr())
	}
	tc := fdfstest.Dial(t, tr.Addr())
	var r fdfstest.Response
	waitFor(t, "the storage ACTIVE", func() bool {
		r = tc.Call(101, 0)
		return r.Status == 0
	})
	if len(r.Body) != 40 || fdfsproto.Fixed(r.Body[:16]) != "group1" {
		t.Fatalf("query store: % x", r.Body)
	}
	addr := net.JoinHostPort(fdfsproto.Fixed(r.Body[16:31]), strconv.FormatInt(fdfsproto.Int64(r.Body[31:]), 10))
	if addr != st.GRPCAddr() {
		t.Fatalf("query store points to %s, the storage is at %s", addr, st.GRPCAddr())
	}
	sc := fdfstest.Dial(t, addr)
	data := bytes.Repeat([]byte("depot "), 1000)
	r = sc.Call(11, 0, r.Body[39:40], fdfstest.I64(int64(len(data))), fdfstest.Pad("txt", 6), data)
	if r.Status != 0 {
		t.Fatalf("upload: status %d", r.Status)
	}
	name := r.Body[16:]

	r = tc.Call(102, 0, fdfstest.Pad("group1", 16), name)
	if r.Status != 0 || len(r.Body) != 39 || !bytes.Equal(r.Body[16:31], fdfstest.Pad("127.0.0.1", 15)) {
		t.Fatalf("query fetch: status %d % x", r.Status, r.Body)
	}
	r = sc.Call(14, 0, fdfstest.I64(0), fdfstest.I64(0), fdfstest.Pad("group1", 16), name)
	if !bytes.Equal(r.Body, data) {
		t.Fatalf("download: %d bytes", len(r.Body))
	}
	r = tc.Call(103, 0, fdfstest.Pad("group1", 16), name)
	if r.Status != 0 {
		t.Fatalf("query update: status %d", r.Status)
	}
	if r = sc.Call(12, 0, fdfstest.Pad("group1", 16), name); r.Status != 0 {
		t.Fatalf("delete: status %d", r.Status)
	}

	// gRPC on the tracker's shared port.
	conn, err := grpc.NewClient(tr.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := trackerpb.NewTrackerServiceClient(conn).ListGroups(ctx, &trackerpb.ListGroupsRequest{}); err != nil {
		t.Fatalf("gRPC on the shared tracker port: %v", err)
	}
}

// native_port puts the protocol on a port of its own; the gRPC port then does not speak it.
func TestNativeOwnPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tr := startTracker(t, true, func(tc *conf.Tracker) { tc.NativePort = port })
	if tr.NativeAddr() == tr.Addr() {
		t.Fatal("native_port ignored")
	}
	c := fdfstest.Dial(t, tr.NativeAddr())
	if r := c.Call(111, 0); r.Status != 0 {
		t.Fatalf("active test on native_port: %d", r.Status)
	}
	g := fdfstest.Dial(t, tr.Addr())
	g.Send(fdfstest.Frame(111, 0))
	g.Conn.SetReadDeadline(time.Now().Add(time.Second))
	var h [10]byte
	if n, _ := io.ReadFull(g.Conn, h[:]); n == 10 && bytes.Equal(h[:], fdfstest.Frame(100, 0)) {
		t.Fatal("the gRPC port answered a FastDFS active test with native_port set")
	}
}

// A storage with a native_port of its own is handed to FastDFS clients with that port.
func TestNativeStoragePortOfItsOwn(t *testing.T) {
	tr := startTracker(t, true, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	sc := conf.DefaultStorage()
	sc.GroupName, sc.BindAddr, sc.Port, sc.HTTP.ServerPort, sc.NativePort = "group1", "127.0.0.1", 0, 0, port
	sc.BasePath, sc.StorePaths, sc.SubdirCountPerPath = dir, []conf.StorePath{{Path: dir}}, 2
	sc.TrackerServers, sc.HeartBeatInterval = []string{tr.Addr()}, 100*time.Millisecond
	sc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	node, err := storage.New(storage.Config{Storage: sc})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		node.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	tc := fdfstest.Dial(t, tr.NativeAddr())
	var r fdfstest.Response
	waitFor(t, "the storage ACTIVE", func() bool {
		r = tc.Call(101, 0)
		return r.Status == 0
	})
	if got := fdfsproto.Int64(r.Body[31:39]); got != int64(port) {
		t.Fatalf("query store gives port %d, want native_port %d", got, port)
	}
	if r := fdfstest.Dial(t, node.NativeAddr()).Call(111, 0); r.Status != 0 {
		t.Fatalf("active test on the storage's native_port: %d", r.Status)
	}
}
