package testcluster_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/testcluster"
)

// FastDFS clients and Depot's gRPC clients on one cluster: native uploads replicate and are
// served over HTTP by every storage; gRPC uploads download natively; a native delete
// reaches both storages.
func TestNativeClientsOnACluster(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 1, Groups: []string{"group1"},
		Tracker: func(_ int, tc *conf.Tracker) { tc.StoreServer = 0 }})
	tr := fdfstest.Dial(t, c.Trackers[0].Addr)
	storageAt := func(r fdfstest.Response) string {
		t.Helper()
		if r.Status != 0 || len(r.Body) < 39 {
			t.Fatalf("tracker answer: status %d, %d bytes", r.Status, len(r.Body))
		}
		return net.JoinHostPort(fdfsproto.Fixed(r.Body[16:31]), strconv.FormatInt(fdfsproto.Int64(r.Body[31:39]), 10))
	}

	sources := map[string]bool{}
	var ids []string
	var bodies [][]byte
	for i := range 4 {
		r := tr.Call(101, 0)
		addr := storageAt(r)
		sources[addr] = true
		data := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		sc := fdfstest.Dial(t, addr)
		up := sc.Call(11, 0, r.Body[39:40], fdfstest.I64(int64(len(data))), fdfstest.Pad("bin", 6), data)
		if up.Status != 0 {
			t.Fatalf("upload to %s: status %d", addr, up.Status)
		}
		sc.Send(fdfstest.Frame(82, 0))
		ids = append(ids, "group1/"+string(up.Body[16:]))
		bodies = append(bodies, data)
	}
	if len(sources) != 2 {
		t.Fatalf("native uploads went to %v, want both storages", sources)
	}
	for i, id := range ids {
		fid, err := fileid.Parse(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.Storages {
			c.Eventually(fmt.Sprintf("%s on %s", id, s), 20*time.Second, func() error {
				_, err := s.Node().Store().Stat(fid)
				return err
			})
			resp, err := http.Get("http://" + s.Node().HTTPAddr() + "/" + id)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, bodies[i]) {
				t.Fatalf("GET %s from %s: %d, %d bytes", id, s, resp.StatusCode, len(got))
			}
		}
	}

	// Uploaded through gRPC, downloaded at once through FastDFS's protocol.
	cl := c.Client()
	for i := range 3 {
		data := bytes.Repeat([]byte{byte('0' + i)}, 777)
		id, err := cl.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Ext: "txt", Size: int64(len(data))})
		if err != nil {
			t.Fatal(err)
		}
		remote := []byte(id[len("group1/"):])
		sc := fdfstest.Dial(t, storageAt(tr.Call(102, 0, fdfstest.Pad("group1", 16), remote)))
		if r := sc.Call(14, 0, fdfstest.I64(0), fdfstest.I64(0), fdfstest.Pad("group1", 16), remote); r.Status != 0 || !bytes.Equal(r.Body, data) {
			t.Fatalf("native download of gRPC upload %s: status %d, %d bytes", id, r.Status, len(r.Body))
		}
	}

	// A native delete, asked of the storage query update names, reaches both storages.
	remote := []byte(ids[0][len("group1/"):])
	sc := fdfstest.Dial(t, storageAt(tr.Call(103, 0, fdfstest.Pad("group1", 16), remote)))
	if r := sc.Call(12, 0, fdfstest.Pad("group1", 16), remote); r.Status != 0 {
		t.Fatalf("delete: status %d", r.Status)
	}
	fid, _ := fileid.Parse(ids[0])
	for _, s := range c.Storages {
		c.Eventually(fmt.Sprintf("%s gone from %s", ids[0], s), 20*time.Second, func() error {
			if _, err := s.Node().Store().Stat(fid); err == nil {
				return fmt.Errorf("still there")
			}
			return nil
		})
	}
}
