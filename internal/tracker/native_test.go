package tracker

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/trackerpb"
)

// serveNative serves e's tracker over FastDFS's protocol on a loopback port.
func (e *env) serveNative() string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	ns := fdfsproto.NewServer(e.srv, fdfsproto.Options{NetworkTimeout: 5 * time.Second})
	go ns.Serve(ln)
	e.t.Cleanup(func() { ns.Close() })
	return ln.Addr().String()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func ip15(s string) []byte { return fdfstest.Pad(s, 15) }

func wantFrame(t *testing.T, what string, r fdfstest.Response, status byte, body []byte) {
	t.Helper()
	if want := fdfstest.Frame(100, status, body); !bytes.Equal(append(r.Raw[:], r.Body...), want) {
		t.Fatalf("%s:\n got % x\nwant % x", what, append(r.Raw[:], r.Body...), want)
	}
}

func TestNativeQueryStore(t *testing.T) {
	e := start(t, func(c *Config) { c.Tracker.StoreLookup = 0 })
	for _, a := range []string{"10.0.0.1", "10.0.0.2"} {
		key := e.join("group1", a, func(r *trackerpb.JoinRequest) { r.StorePathCount = 2 }).GetStorageKey()
		e.beat("group1", key, false, 500, 900)
	}
	e.active("group2", "10.0.0.3", 990)
	c := fdfstest.Dial(t, e.serveNative())

	// 104 with group: group16 + ip15 + port8 + path1 = 40 bytes; round robin over the
	// group's storages and over the storage's paths.
	r := c.Call(104, 0, fdfstest.Pad("group1", 16))
	wantFrame(t, "104 first", r, 0, cat(fdfstest.Pad("group1", 16), ip15("10.0.0.1"), fdfstest.I64(23000), []byte{0}))
	r = c.Call(104, 0, fdfstest.Pad("group1", 16))
	wantFrame(t, "104 second", r, 0, cat(fdfstest.Pad("group1", 16), ip15("10.0.0.2"), fdfstest.I64(23000), []byte{0}))
	if len(r.Body) != 40 {
		t.Fatalf("query store body %d bytes, want 40", len(r.Body))
	}
	// 101 and 106 without group: store_lookup 0 takes the groups in turn.
	r = c.Call(101, 0)
	wantFrame(t, "101", r, 0, cat(fdfstest.Pad("group1", 16), ip15("10.0.0.1"), fdfstest.I64(23000), []byte{1}))
	// 107 all of a group: group16 + N × (ip15 + port8) + path1, the picked one first.
	r = c.Call(107, 0, fdfstest.Pad("group1", 16))
	wantFrame(t, "107", r, 0, cat(fdfstest.Pad("group1", 16), ip15("10.0.0.2"), fdfstest.I64(23000),
		ip15("10.0.0.1"), fdfstest.I64(23000), []byte{1}))
	r = c.Call(106, 0)
	wantFrame(t, "106", r, 0, cat(fdfstest.Pad("group2", 16), ip15("10.0.0.3"), fdfstest.I64(23000), []byte{0}))
	r = c.Call(104, 0, fdfstest.Pad("group2", 16))
	wantFrame(t, "104 group2", r, 0, cat(fdfstest.Pad("group2", 16), ip15("10.0.0.3"), fdfstest.I64(23000), []byte{0}))

	// The same answers as gRPC gives: both come from queryStore.
	wantFrame(t, "unknown group", c.Call(104, 0, fdfstest.Pad("nogroup", 16)), 2, nil)
	wantFrame(t, "104 without body", c.Call(104, 0), 22, nil)
	wantFrame(t, "101 with a body", c.Call(101, 0, []byte("x")), 22, nil)
	wantFrame(t, "unknown command", c.Call(120, 0), 38, nil)
	wantFrame(t, "active test", c.Call(111, 0), 0, nil)

	// No space: every path within the reserve (100 bytes).
	e.beat("group2", e.status2Key("group2"), false, 50)
	wantFrame(t, "group within reserve", c.Call(104, 0, fdfstest.Pad("group2", 16)), 28, nil)
	c.Send(fdfstest.Frame(82, 0))
	c.ExpectClosed(5 * time.Second)
}

// status2Key returns the key of the only storage of group.
func (e *env) status2Key(group string) string {
	e.t.Helper()
	resp, err := e.srv.listGroups(group)
	if err != nil || len(resp.GetGroups()) != 1 || len(resp.GetGroups()[0].GetStorages()) != 1 {
		e.t.Fatalf("group %s: %v", group, err)
	}
	return resp.GetGroups()[0].GetStorages()[0].GetBrief().GetKey()
}

func TestNativeQueryFetchUpdate(t *testing.T) {
	e := start(t, nil)
	e.active("group1", "10.0.0.1", 900)
	e.active("group1", "10.0.0.2", 900)
	c := fdfstest.Dial(t, e.serveNative())
	now := e.clock.Now().Unix()

	// A fresh file of 10.0.0.2 that nobody has synced: only its source may serve it.
	fresh := fileID(t, "group1", "10.0.0.2", now, fileid.Normal)
	req := cat(fdfstest.Pad("group1", 16), []byte(fresh[len("group1/"):]))
	want2 := cat(fdfstest.Pad("group1", 16), ip15("10.0.0.2"), fdfstest.I64(23000))
	wantFrame(t, "102 fresh", c.Call(102, 0, req), 0, want2)
	wantFrame(t, "105 fresh", c.Call(105, 0, req), 0, want2)
	wantFrame(t, "103 fresh", c.Call(103, 0, req), 0, want2)

	// An old file: everyone may serve it; fetch all lists the others' IPs after the first
	// storage's IP and port (they share its port).
	old := fileID(t, "group1", "10.0.0.2", now-2*86400, fileid.Normal)
	req = cat(fdfstest.Pad("group1", 16), []byte(old[len("group1/"):]))
	wantFrame(t, "105 old", c.Call(105, 0, req), 0, cat(fdfstest.Pad("group1", 16), ip15("10.0.0.1"), fdfstest.I64(23000), ip15("10.0.0.2")))
	r1, r2 := c.Call(102, 0, req), c.Call(102, 0, req)
	if bytes.Equal(r1.Body, r2.Body) || len(r1.Body) != 39 || len(r2.Body) != 39 {
		t.Fatalf("102 round robin: % x then % x", r1.Body, r2.Body)
	}

	wantFrame(t, "unknown group", c.Call(102, 0, fdfstest.Pad("group9", 16), []byte(fresh[len("group1/"):])), 2, nil)
	wantFrame(t, "bad name", c.Call(102, 0, fdfstest.Pad("group1", 16), []byte("M00/00/00/short")), 22, nil)
	wantFrame(t, "no name", c.Call(103, 0, fdfstest.Pad("group1", 16)), 22, nil)
	c.Send(cat(fdfstest.I64(1<<30), []byte{102, 0}))
	r := c.Recv()
	wantFrame(t, "huge body", r, 22, nil)
	c.ExpectClosed(5 * time.Second)
}

func TestNativeListGroupsAndStorages(t *testing.T) {
	e := start(t, nil)
	k1 := e.active("group1", "10.0.0.1", 900)
	e.active("group1", "10.0.0.2", 900)
	c := fdfstest.Dial(t, e.serveNative())

	r := c.Call(91, 0)
	if r.Status != 0 || len(r.Body) != groupStatLen || groupStatLen != 105 {
		t.Fatalf("91: status %d, %d bytes, want one record of 105", r.Status, len(r.Body))
	}
	want := cat(fdfstest.Pad("group1", 17),
		fdfstest.I64(0), fdfstest.I64(0), fdfstest.I64(0), // total, free, trunk free MB (1000 bytes)
		fdfstest.I64(2), fdfstest.I64(23000), fdfstest.I64(8888), fdfstest.I64(2), // count, ports, active
		fdfstest.I64(0), fdfstest.I64(1), fdfstest.I64(256), fdfstest.I64(0))
	wantFrame(t, "91", r, 0, want)
	wantFrame(t, "90", c.Call(90, 0, fdfstest.Pad("group1", 16)), 0, want)
	wantFrame(t, "90 unknown", c.Call(90, 0, fdfstest.Pad("group7", 16)), 2, nil)

	r = c.Call(92, 0, fdfstest.Pad("group1", 16))
	if r.Status != 0 || len(r.Body) != 2*storageStatLen || storageStatLen != 612 {
		t.Fatalf("92: status %d, %d bytes, want two records of 612", r.Status, len(r.Body))
	}
	rec := r.Body[:storageStatLen]
	if rec[0] != 7 || fdfsproto.Fixed(rec[17:33]) != "10.0.0.1" {
		t.Fatalf("92 first record: status %d ip %q", rec[0], fdfsproto.Fixed(rec[17:33]))
	}
	ports := 1 + 16 + 16 + 128 + 16 + 6 + 8*8
	if fdfsproto.Int64(rec[ports:]) != 23000 || fdfsproto.Int64(rec[ports+8:]) != 8888 {
		t.Fatalf("92 ports %d %d", fdfsproto.Int64(rec[ports:]), fdfsproto.Int64(rec[ports+8:]))
	}
	if hb := fdfsproto.Int64(rec[storageStatLen-9:]); hb != e.clock.Now().Unix() {
		t.Fatalf("92 last heartbeat %d, want %d", hb, e.clock.Now().Unix())
	}
	r = c.Call(92, 0, fdfstest.Pad("group1", 16), []byte("10.0.0.2"))
	if len(r.Body) != storageStatLen || fdfsproto.Fixed(r.Body[17:33]) != "10.0.0.2" {
		t.Fatalf("92 one storage: %d bytes", len(r.Body))
	}
	wantFrame(t, "92 unknown storage", c.Call(92, 0, fdfstest.Pad("group1", 16), []byte("10.9.9.9")), 2, nil)
	_ = k1
}
