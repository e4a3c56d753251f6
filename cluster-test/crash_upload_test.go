package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
)

// TestConcurrentUploadsSurviveStorageKill runs a tracker and 2 storages (group1 and
// group2) as processes and 16 SDK uploaders sharing one tracker-mode Client making 600
// uploads. Six times during the run a storage (each in turn) is SIGKILLed and, a moment
// later, restarted; with DEPOT_FULL=1, 3000 uploads and ten kills. (With one kill in 300
// uploads the old SDK failed 1 run in 10; with six in 600, 5 runs of 5, 1 to 7 uploads each.)
//
// It asserts that no upload fails: the uploads in flight to the dying storage, whose pooled
// connection the SDK drops under the other uploaders' feet, are retried (on the other
// group, or on the same storage once it is back when their outcome is unknown), and that
// every acknowledged file downloads with its bytes after the restart.
func TestConcurrentUploadsSurviveStorageKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	const workers = 16
	uploads, kills := 600, 6
	if os.Getenv("DEPOT_FULL") == "1" {
		uploads, kills = 3000, 10
	}
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()

	th := "127.0.0.21"
	tport := freePorts(t, th, 3)
	taddr := net.JoinHostPort(th, strconv.Itoa(tport))
	tdir := filepath.Join(root, "tracker")
	tconf := filepath.Join(tdir, "tracker.conf")
	writeConf(t, tconf, fmt.Sprintf("bind_addr = %s\nport = %d\nbase_path = %s\nstore_lookup = 0\nstore_server = 0\nreserved_storage_space = 1%%\ncheck_active_interval = 2\n", th, tport, tdir))
	all := []*proc{{t: t, name: "tracker " + taddr, bin: trackerBin, conf: tconf, log: filepath.Join(tdir, "out.log")}}
	var storages []*proc
	var keys []string
	for i, h := range []string{"127.0.0.22", "127.0.0.23"} {
		port := freePorts(t, h, 2)
		dir := filepath.Join(root, fmt.Sprintf("storage%d", i))
		conf := filepath.Join(dir, "storage.conf")
		writeConf(t, conf, storageConf(fmt.Sprintf("group%d", i+1), h, port, dir, taddr))
		p := &proc{t: t, name: "storage " + h, bin: storageBin, conf: conf, log: filepath.Join(dir, "out.log")}
		storages = append(storages, p)
		keys = append(keys, net.JoinHostPort(h, strconv.Itoa(port)))
		all = append(all, p)
	}
	for _, p := range all {
		p.start()
		t.Cleanup(p.kill)
	}
	waitActive := func(what string) {
		t.Helper()
		poll(t, what, 30*time.Second, func() error {
			st, err := statuses(taddr)
			if err != nil {
				return err
			}
			for _, k := range keys {
				if st[k] != "ACTIVE" {
					return fmt.Errorf("%s is %q", k, st[k])
				}
			}
			return nil
		}, all...)
	}
	waitActive("both storages ACTIVE")

	cl, err := client.New(client.Config{Trackers: []string{taddr}, DialTimeout: 5 * time.Second, RetryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	var (
		next     atomic.Int64 // the next upload to start
		done     atomic.Int64 // uploads finished, failed or not
		mu       sync.Mutex
		files    = map[string][]byte{}
		failures []string
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(uploads) {
					return
				}
				data := make([]byte, 1000+int(i)*7919%(96<<10))
				_, _ = rand.Read(data)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				id, err := cl.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Ext: "bin", Size: int64(len(data))})
				cancel()
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("upload %d: %v", i, err))
				} else {
					files[id] = data
				}
				mu.Unlock()
				done.Add(1)
			}
		})
	}
	waitDone := func(n int64, what string) {
		t.Helper()
		poll(t, what, 60*time.Second, func() error {
			if d := done.Load(); d < n {
				return fmt.Errorf("%d uploads done", d)
			}
			return nil
		}, all...)
	}
	for k := range kills {
		victim := storages[k%2]
		waitDone(int64(uploads*(3*k+1)/(3*kills+1)), "uploads before the kill")
		victim.kill()
		// Down while 10% more uploads finish or for 2 s, whichever comes first: uploads
		// whose outcome on it is unknown wait for it, and may hold every uploader.
		downAt, from := time.Now(), done.Load()
		poll(t, "uploads with a storage down", 60*time.Second, func() error {
			if done.Load()-from < int64(uploads/10) && time.Since(downAt) < 2*time.Second {
				return fmt.Errorf("%d uploads done", done.Load()-from)
			}
			return nil
		}, all...)
		victim.start()
		waitActive("the restarted storage ACTIVE")
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, f := range failures {
		t.Errorf("%s", f)
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d uploads failed", len(failures), uploads)
	}
	for id, want := range files {
		var buf bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := cl.Download(ctx, id, &buf, 0, 0)
		cancel()
		if err != nil {
			t.Errorf("download %s: %v", id, err)
		} else if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("download %s: %d bytes differ from the %d uploaded", id, buf.Len(), len(want))
		}
	}
	perGroup := map[string]int{}
	for id := range files {
		perGroup[groupOf(id)]++
	}
	t.Logf("%d uploads by %d uploaders, %d storage kills: %d files read back (per group %v)", uploads, workers, kills, len(files), perGroup)
	if len(files) != uploads {
		t.Errorf("%d files acknowledged for %d uploads", len(files), uploads)
	}
}
