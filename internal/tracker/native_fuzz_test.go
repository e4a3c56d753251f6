package tracker

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
	"github.com/depotfs/depot/internal/meta"
	"github.com/depotfs/depot/proto/trackerpb"
)

// FuzzNativeTracker sends arbitrary bytes to a tracker's FastDFS port (two ACTIVE storages
// in group1): every request gets an answer or a close within the timeout.
func FuzzNativeTracker(f *testing.F) {
	g := fdfstest.Pad("group1", 16)
	name := []byte("M00/00/00/CgAAAWsWDVCAWENVAAAAF4mwYVk161.txt")
	for _, cmd := range []byte{101, 106, 91, 111} {
		f.Add(fdfstest.Frame(cmd, 0))
	}
	for _, cmd := range []byte{104, 107, 90, 92} {
		f.Add(fdfstest.Frame(cmd, 0, g))
	}
	for _, cmd := range []byte{102, 103, 105} {
		f.Add(fdfstest.Frame(cmd, 0, g, name))
	}
	f.Add(fdfstest.Frame(92, 0, g, []byte("10.0.0.1")))
	db, err := meta.Open(filepath.Join(f.TempDir(), "t.db"), meta.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	srv, err := New(Config{Tracker: testTrackerConf(), Meta: db})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	for _, a := range []string{"10.0.0.1", "10.0.0.2"} {
		resp, err := srv.Join(context.Background(), &trackerpb.JoinRequest{Group: "group1", Addr: a, Port: 23000, StorePathCount: 1, SubdirCount: 256})
		if err != nil {
			f.Fatal(err)
		}
		if _, err := srv.Heartbeat(context.Background(), &trackerpb.HeartbeatRequest{Group: "group1", StorageKey: resp.GetStorageKey()}); err != nil {
			f.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	ns := fdfsproto.NewServer(srv, fdfsproto.Options{NetworkTimeout: 300 * time.Millisecond})
	go ns.Serve(ln)
	f.Cleanup(func() { ns.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no answer or close within 5 s for % x", data)
			}
		}
	})
}
