package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/fileid"
)

// replNode is a storage process of the replication scenario.
type replNode struct {
	*proc
	host, key, dir string
}

// startReplicationCluster starts one tracker and n storages of group1 as processes on
// 127.0.0.1x (addresses apart from the other scenario's).
func startReplicationCluster(t *testing.T, n int) (string, []*replNode, []*proc) {
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()
	th := "127.0.0.11"
	tport := freePorts(t, th, 3)
	taddr := net.JoinHostPort(th, strconv.Itoa(tport))
	tdir := filepath.Join(root, "tracker")
	tconf := filepath.Join(tdir, "tracker.conf")
	writeConf(t, tconf, fmt.Sprintf("bind_addr = %s\nport = %d\nbase_path = %s\nstore_lookup = 0\nstore_server = 0\nreserved_storage_space = 1%%\ncheck_active_interval = 3\n", th, tport, tdir))
	tr := &proc{t: t, name: "tracker " + taddr, bin: trackerBin, conf: tconf, log: filepath.Join(tdir, "out.log")}
	all := []*proc{tr}
	var nodes []*replNode
	for i := range n {
		h := fmt.Sprintf("127.0.0.%d", 12+i)
		port := freePorts(t, h, 2)
		dir := filepath.Join(root, fmt.Sprintf("storage%d", i))
		conf := filepath.Join(dir, "storage.conf")
		writeConf(t, conf, storageConf("group1", h, port, dir, taddr))
		nd := &replNode{proc: &proc{t: t, name: "storage " + h, bin: storageBin, conf: conf, log: filepath.Join(dir, "out.log")},
			host: h, key: net.JoinHostPort(h, strconv.Itoa(port)), dir: dir}
		nodes = append(nodes, nd)
		all = append(all, nd.proc)
	}
	for _, p := range all {
		p.start()
		t.Cleanup(p.kill)
	}
	poll(t, "every storage ACTIVE", 60*time.Second, func() error {
		st, err := statuses(taddr)
		if err != nil {
			return err
		}
		for _, nd := range nodes {
			if st[nd.key] != "ACTIVE" {
				return fmt.Errorf("%s is %q", nd.key, st[nd.key])
			}
		}
		return nil
	}, all...)
	return taddr, nodes, all
}

// onDisk returns every stored file of a node (metadata files and Depot's scratch
// directory excluded): data/XX/YY/name → content.
func onDisk(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	data := filepath.Join(dir, "data")
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
			if d.IsDir() && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Count(rel, "/") != 2 || strings.HasSuffix(rel, "-m") {
			return nil
		}
		b, err := os.ReadFile(path)
		out[rel] = b
		return err
	})
	return out, err
}

// sameFiles checks that a node holds exactly want (by data-relative path).
func sameFiles(nd *replNode, want map[string][]byte) error {
	got, err := onDisk(nd.dir)
	if err != nil {
		return err
	}
	for rel, b := range want {
		g, ok := got[rel]
		if !ok {
			return fmt.Errorf("%s lacks %s", nd.key, rel)
		}
		if !bytes.Equal(g, b) {
			return fmt.Errorf("%s: %s has %d bytes that differ from the %d uploaded", nd.key, rel, len(g), len(b))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%s holds %d files, want %d", nd.key, len(got), len(want))
	}
	return nil
}

// TestReplicationSurvivesKill uploads files of mixed sizes to a 3-storage group while a
// storage is SIGKILLed in the middle of replication and later restarted; some files are
// deleted while it is down. In the end every node holds exactly the live files with their
// bytes: none lost, none duplicated, no partial file, and the restarted node's cursors
// resumed (its peers' marks and its own binlog carry on).
func TestReplicationSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	n := 60
	if os.Getenv("DEPOT_FULL") == "1" {
		n = 2000
	}
	taddr, nodes, all := startReplicationCluster(t, 3)
	cl, err := client.New(client.Config{Trackers: []string{taddr}, DialTimeout: 5 * time.Second, RetryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	want := map[string][]byte{} // data-relative path → bytes
	ids := map[string]string{}  // data-relative path → file ID
	victim := nodes[1]
	for i := range n {
		size := []int{0, 17, 4096, 200 << 10, 1<<20 + 3}[i%5]
		b := make([]byte, size)
		rand.Read(b)
		id, err := cl.Upload(ctx, bytes.NewReader(b), client.UploadOptions{Size: int64(size), Ext: "dat"})
		if err != nil {
			t.Fatalf("upload %d: %v\n%s", i, err, victim.output())
		}
		fid, err := fileid.Parse(id)
		if err != nil {
			t.Fatal(err)
		}
		want[fid.RelPath()], ids[fid.RelPath()] = b, id
		if i == n/3 {
			victim.kill() // in the middle of replication to and from it
		}
	}
	// Deletes while it is down, of files whose source is alive.
	deleted := 0
	for rel, id := range ids {
		fid, _ := fileid.Parse(id)
		if deleted == 5 || fid.SourceIPv4().String() == victim.host {
			continue
		}
		if err := cl.Delete(ctx, id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		delete(want, rel)
		deleted++
	}
	victim.start()
	poll(t, "every node holds exactly the live files", 120*time.Second, func() error {
		for _, nd := range nodes {
			if err := sameFiles(nd, want); err != nil {
				return err
			}
		}
		return nil
	}, all...)
	// Every node's cursor for every peer (the victim's own, resumed from its mark files after
	// the kill, included) reaches the end of its binlog and is saved there.
	poll(t, "every cursor saved at the end of its binlog", 60*time.Second, func() error {
		for _, nd := range nodes {
			sync := filepath.Join(nd.dir, "data", "sync")
			st, err := os.Stat(filepath.Join(sync, "binlog.000"))
			if err != nil {
				return err
			}
			for _, peer := range nodes {
				if peer == nd {
					continue
				}
				m, ok, err := binlog.LoadMark(binlog.MarkPath(sync, peer.key))
				if err != nil || !ok {
					return fmt.Errorf("%s: mark for %s: %v (exists %v)", nd.key, peer.key, err, ok)
				}
				if m.Pos != (binlog.Position{Offset: st.Size()}) {
					return fmt.Errorf("%s: cursor for %s at %+v, binlog.000 has %d bytes", nd.key, peer.key, m.Pos, st.Size())
				}
			}
		}
		return nil
	}, all...)
}
