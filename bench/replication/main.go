// Command replication measures how fast Depot replicates within a group: it builds the
// tracker and storage binaries, starts one tracker and a group of storages as processes on
// 127.0.0.x, uploads files with several concurrent clients, and watches the other storages'
// store paths until every file is present on every peer (a replica is renamed into place
// only once complete, so present means complete). It reports files/s and MB/s copied and
// the p50/p99/max lag from an upload's answer to the file being on every peer, and writes
// a markdown table to -out. Run it from the repository root:
//
//	go run ./bench/replication -out docs/bench-replication.md
//
// It is not part of go test.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
)

type workload struct {
	name    string
	files   int
	size    int
	workers int  // concurrent uploaders; 0 = -c
	serial  bool // each upload waits until the previous file is everywhere
}

func main() {
	out := flag.String("out", "docs/bench-replication.md", "markdown report")
	storages := flag.Int("storages", 3, "storages in the group")
	workers := flag.Int("c", 8, "concurrent uploaders")
	flag.Parse()
	if err := run(*out, *storages, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "replication bench:", err)
		os.Exit(1)
	}
}

func run(out string, n, workers int) (err error) {
	root, err := os.MkdirTemp("", "depot-repl-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			os.RemoveAll(root)
		} else {
			fmt.Fprintln(os.Stderr, "logs kept in", root)
		}
	}()
	bin := filepath.Join(root, "bin")
	if b, err := exec.Command("go", "build", "-o", bin+"/", "./cmd/tracker", "./cmd/storage").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, b)
	}
	loads := []workload{
		{"small (16 KiB), one at a time: lag without a queue", 200, 16 << 10, 1, true},
		{"small (16 KiB)", 2000, 16 << 10, 0, false},
		{"medium (1 MiB)", 200, 1 << 20, 0, false},
		{"large (16 MiB)", 16, 16 << 20, 0, false},
	}
	var rows []string
	for _, w := range loads {
		row, err := measure(root, bin, n, workers, w)
		if err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
		fmt.Println(row)
		rows = append(rows, row)
	}
	return write(out, n, rows)
}

// cluster is one tracker and n storages as processes.
type cluster struct {
	procs   []*exec.Cmd
	tracker string
	dirs    []string // store path of each storage
}

func (c *cluster) stop() {
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
		_ = p.Wait()
	}
}

func freePort(host string) (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := true
		for i := 1; i < 3; i++ {
			l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p+i)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free ports on %s", host)
}

func start(dir, bin string, n int) (*cluster, error) {
	c := &cluster{}
	spawn := func(name, conf string) error {
		f, err := os.Create(conf + ".log")
		if err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(bin, name), "-c", conf)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			return err
		}
		c.procs = append(c.procs, cmd)
		return nil
	}
	th := "127.0.0.41"
	tp, err := freePort(th)
	if err != nil {
		return nil, err
	}
	c.tracker = net.JoinHostPort(th, strconv.Itoa(tp))
	td := filepath.Join(dir, "tracker")
	os.MkdirAll(td, 0o755)
	tconf := filepath.Join(td, "tracker.conf")
	os.WriteFile(tconf, fmt.Appendf(nil, "bind_addr = %s\nport = %d\nbase_path = %s\nreserved_storage_space = 1%%\n", th, tp, td), 0o644)
	if err := spawn("tracker", tconf); err != nil {
		return nil, err
	}
	for i := range n {
		h := fmt.Sprintf("127.0.0.%d", 42+i)
		p, err := freePort(h)
		if err != nil {
			c.stop()
			return nil, err
		}
		sd := filepath.Join(dir, fmt.Sprintf("storage%d", i))
		os.MkdirAll(sd, 0o755)
		conf := filepath.Join(sd, "storage.conf")
		os.WriteFile(conf, fmt.Appendf(nil, "group_name = group1\nbind_addr = %s\nport = %d\nbase_path = %s\nstore_path0 = %s\nsubdir_count_per_path = 16\nheart_beat_interval = 1\nreserved_storage_space = 1%%\nhttp.server_port = %d\ntracker_server = %s\n",
			h, p, sd, sd, p+1, c.tracker), 0o644)
		if err := spawn("storage", conf); err != nil {
			c.stop()
			return nil, err
		}
		c.dirs = append(c.dirs, sd)
	}
	return c, nil
}

// upload is one acknowledged upload.
type upload struct {
	rel    string // data-relative path
	source int    // index of the storage that took it
	acked  time.Time
}

func measure(root, bin string, n, workers int, w workload) (string, error) {
	dir, err := os.MkdirTemp(root, "run-")
	if err != nil {
		return "", err
	}
	c, err := start(dir, bin, n)
	if err != nil {
		return "", err
	}
	defer c.stop()
	deadline := time.Now().Add(60 * time.Second)
	var cl *client.Client
	for {
		cl, err = client.New(client.Config{Trackers: []string{c.tracker}, DialTimeout: 5 * time.Second, RetryTimeout: 60 * time.Second})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer cl.Close()
	// Wait for the group to form: a probe upload replicated everywhere.
	probe := make([]byte, 1)
	for {
		id, err := cl.Upload(context.Background(), bytes.NewReader(probe), client.UploadOptions{Size: 1})
		if err == nil && present(c, id) {
			break
		}
		if err == nil {
			time.Sleep(200 * time.Millisecond)
			if present(c, id) {
				break
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("cluster did not form: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	data := make([]byte, w.size)
	rand.Read(data)
	var mu sync.Mutex
	var ups []upload
	jobs := make(chan int)
	var wg sync.WaitGroup
	var upErr error
	begin := time.Now()
	if w.workers > 0 {
		workers = w.workers
	}
	for range workers {
		wg.Go(func() {
			for range jobs {
				id, err := cl.Upload(context.Background(), bytes.NewReader(data), client.UploadOptions{Size: int64(len(data))})
				mu.Lock()
				var rel string
				if err != nil {
					upErr = err
				} else {
					fid, _ := fileid.Parse(id)
					rel = fid.RelPath()
					ups = append(ups, upload{rel: rel, source: sourceIndex(fid), acked: time.Now()})
				}
				mu.Unlock()
				for w.serial && rel != "" && !onEvery(c, rel) {
					time.Sleep(200 * time.Microsecond)
				}
			}
		})
	}
	// The watcher: polls every peer's store path for every pending file.
	lags := make([]time.Duration, 0, w.files)
	done := make(chan struct{})
	var last time.Time
	go func() {
		defer close(done)
		seen := 0
		pending := map[string]upload{}
		for {
			mu.Lock()
			for _, u := range ups[seen:] {
				pending[u.rel] = u
			}
			seen = len(ups)
			mu.Unlock()
			now := time.Now()
			for rel, u := range pending {
				if onEvery(c, rel) {
					lags = append(lags, now.Sub(u.acked))
					last = now
					delete(pending, rel)
				}
			}
			if seen == w.files && len(pending) == 0 || time.Since(begin) > 10*time.Minute {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := range w.files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if upErr != nil {
		return "", upErr
	}
	<-done
	if len(lags) != w.files {
		return "", fmt.Errorf("%d of %d files replicated everywhere", len(lags), w.files)
	}
	slices.Sort(lags)
	elapsed := last.Sub(begin).Seconds()
	copies := float64(w.files * (n - 1))
	mb := copies * float64(w.size) / (1 << 20)
	return fmt.Sprintf("| %s | %d | %d | %.0f | %.1f | %s | %s | %s |", w.name, w.files, workers, copies/elapsed, mb/elapsed,
		ms(lags[len(lags)/2]), ms(lags[len(lags)*99/100]), ms(lags[len(lags)-1])), nil
}

func sourceIndex(id fileid.ID) int {
	ip := id.SourceIPv4().As4()
	return int(ip[3]) - 42
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// onEvery reports whether rel is in every storage's store path.
func onEvery(c *cluster, rel string) bool {
	for _, d := range c.dirs {
		if _, err := os.Stat(filepath.Join(d, "data", rel)); err != nil {
			return false
		}
	}
	return true
}

func present(c *cluster, id string) bool {
	fid, err := fileid.Parse(id)
	return err == nil && onEvery(c, fid.RelPath())
}

func write(out string, n int, rows []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Replication benchmark\n\n")
	fmt.Fprintf(&b, "`go run ./bench/replication` on %s: one tracker and %d storages of one group as processes on 127.0.0.x (one host, %d CPUs, the store paths on the same disk), the SDK in tracker mode with the uploaders noted. Copies = files × (storages − 1). Lag = time from the upload's answer to the file being present on every storage of the group (polled every millisecond on disk).\n\n",
		time.Now().UTC().Format("2006-01-02"), n, runtime.NumCPU())
	b.WriteString("| workload | files | uploaders | copies/s | MB/s copied | lag p50 | lag p99 | lag max |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	b.WriteString("\nEvery upload and replica is fsynced (file, directory, binlog) before it is acknowledged; on a shared machine the numbers are bound by fsync latency and CPU contention, not by the network. With several uploaders the uploads arrive faster than the peers can apply them, so the lag percentiles there include the queue that builds up during the burst; the single-uploader row shows the lag of one file on its own.\n")
	return os.WriteFile(out, []byte(b.String()), 0o644)
}
