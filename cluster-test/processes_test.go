package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
)

// TestProcessesSurviveKills runs 2 trackers and 2 storages (group1 and group2) as
// processes configured with FastDFS-format files (the trackers are not told about each
// other), and an SDK client in a loop that uploads a file and downloads an earlier one.
// Meanwhile a tracker is SIGKILLed and restarted, then a storage.
//
// It asserts that no client call fails: every upload succeeds (through the other tracker,
// on the other group's storage), and every download of an acknowledged file succeeds with
// the uploaded bytes, and that every file on the storages' disks is one the client was
// told about (no upload stored twice). The two storages are in different groups, so
// nothing is replicated, and while a storage is down the loop
// does not download the files stored only there; all files, those included, are
// downloaded and compared after the restarts.
func TestProcessesSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()

	trackerHosts := []string{"127.0.0.2", "127.0.0.3"}
	var trackerAddrs []string
	var trackers []*proc
	for i, h := range trackerHosts {
		port := freePorts(t, h, 3) // port, gossip port+1, raft port+2 (the defaults)
		addr := net.JoinHostPort(h, strconv.Itoa(port))
		trackerAddrs = append(trackerAddrs, addr)
		dir := filepath.Join(root, fmt.Sprintf("tracker%d", i))
		conf := filepath.Join(dir, "tracker.conf")
		writeConf(t, conf, fmt.Sprintf(`# FastDFS tracker.conf keys only
bind_addr = %s
port = %d
base_path = %s
store_lookup = 0
store_server = 0
reserved_storage_space = 1%%
check_active_interval = 2
log_level = info
`, h, port, dir))
		p := &proc{t: t, name: "tracker " + addr, bin: trackerBin, conf: conf, log: filepath.Join(dir, "out.log")}
		trackers = append(trackers, p)
	}
	type node struct {
		*proc
		host, key, group string
	}
	var storages []*node
	for i, h := range []string{"127.0.0.4", "127.0.0.5"} {
		port := freePorts(t, h, 2) // gRPC port and HTTP port+1
		group := fmt.Sprintf("group%d", i+1)
		dir := filepath.Join(root, fmt.Sprintf("storage%d", i))
		conf := filepath.Join(dir, "storage.conf")
		writeConf(t, conf, storageConf(group, h, port, dir, trackerAddrs...))
		storages = append(storages, &node{
			proc: &proc{t: t, name: "storage " + h, bin: storageBin, conf: conf, log: filepath.Join(dir, "out.log")},
			host: h, key: net.JoinHostPort(h, strconv.Itoa(port)), group: group,
		})
	}
	all := append([]*proc{}, trackers...)
	for _, s := range storages {
		all = append(all, s.proc)
	}
	for _, p := range all {
		p.start()
		t.Cleanup(p.kill)
	}
	waitState := func(what string, want map[string]string, on ...int) {
		t.Helper()
		poll(t, what, 30*time.Second, func() error {
			for _, i := range on {
				st, err := statuses(trackerAddrs[i])
				if err != nil {
					return fmt.Errorf("tracker %s: %w", trackerAddrs[i], err)
				}
				for k, v := range want {
					if st[k] != v {
						return fmt.Errorf("tracker %s: %s is %q, want %s", trackerAddrs[i], k, st[k], v)
					}
				}
			}
			return nil
		}, all...)
	}
	allActive := map[string]string{storages[0].key: "ACTIVE", storages[1].key: "ACTIVE"}
	waitState("both storages ACTIVE on both trackers", allActive, 0, 1)

	cl, err := client.New(client.Config{Trackers: trackerAddrs, DialTimeout: 5 * time.Second, RetryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// The client loop.
	var (
		mu       sync.Mutex
		files    = map[string][]byte{}
		order    []string
		down     = map[string]bool{} // storage host → do not download its files now
		failures []string
		done     int // loop iterations
	)
	stop := make(chan struct{})
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			data := make([]byte, 1000+i*37%50000)
			_, _ = rand.Read(data)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			id, err := cl.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Ext: "bin", Size: int64(len(data))})
			mu.Lock()
			if err != nil {
				failures = append(failures, fmt.Sprintf("upload %d: %v", i, err))
			} else {
				files[id] = data
				order = append(order, id)
			}
			// Download an earlier file whose storage is up.
			var pick string
			for j := len(order) - 1; j >= 0 && j >= len(order)-10; j-- {
				if !down[sourceHost(order[j])] {
					pick = order[(j*7+i)%len(order)]
					if !down[sourceHost(pick)] {
						break
					}
					pick = ""
				}
			}
			mu.Unlock()
			if pick != "" {
				var buf bytes.Buffer
				_, err := cl.Download(ctx, pick, &buf, 0, 0)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("download %s: %v", pick, err))
				} else if !bytes.Equal(buf.Bytes(), files[pick]) {
					failures = append(failures, fmt.Sprintf("download %s: wrong bytes", pick))
				}
				mu.Unlock()
			}
			cancel()
			mu.Lock()
			done++
			mu.Unlock()
		}
	}()
	iterations := func() int { mu.Lock(); defer mu.Unlock(); return done }
	waitIterations := func(n int) {
		t.Helper()
		start := iterations()
		poll(t, fmt.Sprintf("%d more client iterations", n), 60*time.Second, func() error {
			if got := iterations() - start; got < n {
				return fmt.Errorf("%d iterations", got)
			}
			return nil
		}, all...)
	}

	waitIterations(20)
	// A tracker dies (the one the client asks first) and comes back.
	trackers[0].kill()
	waitIterations(20)
	trackers[0].start()
	waitState("the restarted tracker sees both storages ACTIVE", allActive, 0)
	waitIterations(10)

	// A storage dies: its files are not downloaded while it is down; uploads go on.
	victim := storages[0]
	mu.Lock()
	down[victim.host] = true
	mu.Unlock()
	waitIterations(1) // no download from it is in flight any more
	victim.kill()
	waitState("the killed storage OFFLINE on both trackers", map[string]string{victim.key: "OFFLINE"}, 0, 1)
	// Keep it down for 10 more iterations, or 3 s: an upload that was in flight to it when
	// it died, with an unknown outcome, waits for it to come back (same storage, same
	// upload token) and holds the loop meanwhile.
	offline, start := time.Now(), iterations()
	poll(t, "10 iterations or 3 s with the storage down", 30*time.Second, func() error {
		if iterations()-start < 10 && time.Since(offline) < 3*time.Second {
			return fmt.Errorf("%d iterations", iterations()-start)
		}
		return nil
	}, all...)
	victim.start()
	waitState("the restarted storage ACTIVE on both trackers", allActive, 0, 1)
	mu.Lock()
	down[victim.host] = false
	mu.Unlock()
	waitIterations(10)
	close(stop)
	<-loopDone

	mu.Lock()
	defer mu.Unlock()
	for _, f := range failures {
		t.Errorf("client call failed: %s", f)
	}
	perGroup := map[string]int{}
	for _, id := range order {
		var buf bytes.Buffer
		if _, err := cl.Download(context.Background(), id, &buf, 0, 0); err != nil {
			t.Errorf("download %s after the restarts: %v", id, err)
		} else if !bytes.Equal(buf.Bytes(), files[id]) {
			t.Errorf("download %s after the restarts: wrong bytes", id)
		}
		perGroup[groupOf(id)]++
	}
	// Exactly once: every file on a storage's disk is one the client was told about (an
	// upload retried after its answer was lost did not leave a second copy).
	acked := map[string]bool{}
	for _, id := range order {
		acked[filepath.Base(id)] = true
	}
	stored := 0
	for _, s := range storages {
		data := filepath.Join(filepath.Dir(s.conf), "data")
		_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(data, p)
			if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".bin") && strings.Count(rel, string(filepath.Separator)) == 2 {
				stored++
				if !acked[filepath.Base(p)] {
					t.Errorf("%s holds %s, which no client was told about", s.name, filepath.Base(p))
				}
			}
			return nil
		})
	}
	if stored != len(order) {
		t.Errorf("%d files stored for %d acknowledged uploads", stored, len(order))
	}
	t.Logf("%d files uploaded and read back (per group %v), %d client iterations", len(order), perGroup, done)
	if perGroup["group1"] == 0 || perGroup["group2"] == 0 {
		t.Errorf("files per group = %v; want both groups used", perGroup)
	}
}

func sourceHost(id string) string {
	f, err := fileid.Parse(id)
	if err != nil {
		return ""
	}
	return f.SourceIPv4().String()
}

func groupOf(id string) string {
	f, err := fileid.Parse(id)
	if err != nil {
		return ""
	}
	return f.Group()
}
