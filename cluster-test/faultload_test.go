package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
)

func fullRun() bool { return os.Getenv("DEPOT_FULL") == "1" }

// loadShape is a scenario's client loop: workers, and sizes up to most bytes (64 KiB at
// most in CI, so that the final check stays short).
func loadShape(most int) (workers int, size func(i int) int) {
	workers = 8
	if !fullRun() {
		workers, most = 4, min(most, 64<<10)
	}
	return workers, func(i int) int { return 1000 + i*7919%most }
}

// loadLoop is the client of a fault scenario: workers that each upload a file and then
// download an earlier acknowledged one, until stopped. Every failed call is recorded.
type loadLoop struct {
	cl      *client.Client
	workers int
	// size gives the size of upload i; known says whether the upload announces it.
	size  func(i int) int
	known bool

	mu       sync.Mutex
	files    map[string][]byte // acknowledged file ID → bytes
	order    []string
	down     map[string]bool // storage address (IPv4) → its files are not downloaded now
	inflight map[string]int  // storage address (IPv4) → downloads of its files in flight
	failures []string
	iters    int
	next     int

	stop chan struct{}
	wg   sync.WaitGroup
}

// startLoad starts workers uploading and downloading through cl.
func startLoad(t *testing.T, cl *client.Client, workers int, size func(i int) int, known bool) *loadLoop {
	l := &loadLoop{cl: cl, workers: workers, size: size, known: known, files: map[string][]byte{}, down: map[string]bool{}, inflight: map[string]int{}, stop: make(chan struct{})}
	for range workers {
		l.wg.Go(l.work)
	}
	t.Cleanup(l.halt)
	return l
}

func (l *loadLoop) work() {
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		l.mu.Lock()
		i := l.next
		l.next++
		l.mu.Unlock()
		data := make([]byte, l.size(i))
		_, _ = rand.Read(data)
		o := client.UploadOptions{Ext: "bin"}
		if l.known {
			o.Size = int64(len(data))
		}
		ctx, cancel := callCtx()
		start := time.Now()
		id, err := l.cl.Upload(ctx, bytes.NewReader(data), o)
		cancel()
		l.mu.Lock()
		if err != nil {
			l.failures = append(l.failures, fmt.Sprintf("%s upload %d (%d bytes, after %v): %v", time.Now().Format("15:04:05.000"), i, len(data), time.Since(start).Round(time.Millisecond), err))
		} else {
			l.files[id] = data
			l.order = append(l.order, id)
		}
		pick := l.pickLocked(i)
		if pick != "" {
			l.inflight[sourceHost(pick)]++
		}
		l.mu.Unlock()
		if pick != "" {
			var buf bytes.Buffer
			ctx, cancel := callCtx()
			start := time.Now()
			_, err := l.cl.Download(ctx, pick, &buf, 0, 0)
			cancel()
			l.mu.Lock()
			l.inflight[sourceHost(pick)]--
			if err != nil {
				l.failures = append(l.failures, fmt.Sprintf("%s download %s (after %v): %v", time.Now().Format("15:04:05.000"), pick, time.Since(start).Round(time.Millisecond), err))
			} else if !bytes.Equal(buf.Bytes(), l.files[pick]) {
				l.failures = append(l.failures, fmt.Sprintf("download %s: %d bytes that differ from the %d uploaded", pick, buf.Len(), len(l.files[pick])))
			}
			l.mu.Unlock()
		}
		l.mu.Lock()
		l.iters++
		l.mu.Unlock()
	}
}

// pickLocked chooses an earlier file, among the last 20, whose source is not down.
func (l *loadLoop) pickLocked(i int) string {
	n := len(l.order)
	for k := range min(n, 20) {
		id := l.order[n-1-(i*7+k)%min(n, 20)]
		if !l.down[sourceHost(id)] {
			return id
		}
	}
	return ""
}

// setDown marks the files made on the storage at ip as not to be downloaded (true) or
// downloadable again (false). It returns once no download of such a file is in flight:
// the caller can then take the storage away.
func (l *loadLoop) setDown(ip string, down bool) {
	l.mu.Lock()
	l.down[ip] = down
	l.mu.Unlock()
	for down && !l.stopped() {
		l.mu.Lock()
		n := l.inflight[ip]
		l.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *loadLoop) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// probe uploads n files from the calling goroutine and downloads each back, through the
// loop's client; every call must succeed within maxHold. The files join the loop's. It
// shows that the cluster takes new uploads during a fault: the loop's own workers may all
// be waiting for a storage that was cut off (an upload whose outcome is unknown is retried
// only there) and prove nothing then.
func (l *loadLoop) probe(t *testing.T, what string, n int, procs []*proc) {
	t.Helper()
	for i := range n {
		data := make([]byte, 1000+i*3001%(64<<10))
		_, _ = rand.Read(data)
		ctx, cancel := context.WithTimeout(context.Background(), maxHold)
		id, err := l.cl.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Ext: "bin", Size: int64(len(data))})
		var buf bytes.Buffer
		if err == nil {
			_, err = l.cl.Download(ctx, id, &buf, 0, 0)
		}
		cancel()
		if err != nil {
			var logs strings.Builder
			for _, p := range procs {
				fmt.Fprintf(&logs, "--- %s:\n%s\n", p.name, p.output())
			}
			t.Fatalf("probe %d of %d %s: %v\n%s", i+1, n, what, err, logs.String())
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("probe %d %s: %s read back as %d bytes that differ from the %d uploaded", i+1, what, id, buf.Len(), len(data))
		}
		l.mu.Lock()
		l.files[id] = data
		l.order = append(l.order, id)
		l.mu.Unlock()
	}
}

// acked counts the acknowledged uploads.
func (l *loadLoop) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.order)
}

// halt stops the workers and waits for them.
func (l *loadLoop) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// finish stops the loop, fails the test for every failed call (with the logs of the
// processes given) and returns the acknowledged files.
func (l *loadLoop) finish(t *testing.T, logs []*proc) map[string][]byte {
	t.Helper()
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failures {
		t.Errorf("client call failed: %s", f)
	}
	t.Logf("client: %d iterations, %d files acknowledged, %d failed calls", l.iters, len(l.files), len(l.failures))
	if len(l.failures) > 0 && logs != nil {
		for _, p := range logs {
			t.Logf("--- %s:\n%s", p.name, p.output())
		}
	}
	if len(l.files) == 0 {
		t.Fatal("no upload was acknowledged")
	}
	return l.files
}

// verifyEverywhere waits until every acknowledged file downloads with its bytes from
// every storage of its group, over gRPC (directly from that storage, which does not pass
// the call on) and over HTTP (with redirects not followed), and until each storage holds
// no file beyond those of its group: no upload stored twice, no partial file left over.
func (c *labCluster) verifyEverywhere(files map[string][]byte, timeout time.Duration) {
	c.t.Helper()
	direct := map[string]*client.Client{}
	for _, s := range c.storages {
		cl, err := client.New(client.Config{Storage: s.addr, DialTimeout: 10 * time.Second})
		if err != nil {
			c.t.Fatalf("connect to %s: %v", s.addr, err)
		}
		defer cl.Close()
		direct[s.addr] = cl
	}
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type pair struct{ id, addr string }
	pending := map[pair]bool{}
	want := map[string]map[string][]byte{} // storage → data-relative path → bytes
	for id, data := range files {
		fid, err := fileid.Parse(id)
		if err != nil {
			c.t.Fatalf("acknowledged file ID %q: %v", id, err)
		}
		for _, s := range c.groupStorages(fid.Group()) {
			pending[pair{id, s.addr}] = true
			if want[s.addr] == nil {
				want[s.addr] = map[string][]byte{}
			}
			want[s.addr][fid.RelPath()] = data
		}
	}
	byAddr := map[string]*labNode{}
	for _, s := range c.storages {
		byAddr[s.addr] = s
	}
	check := func(p pair) error {
		data := files[p.id]
		var buf bytes.Buffer
		ctx, cancel := callCtx()
		_, err := direct[p.addr].Download(ctx, p.id, &buf, 0, 0)
		cancel()
		if err != nil {
			return fmt.Errorf("gRPC download of %s from %s: %w", p.id, p.addr, err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			return fmt.Errorf("gRPC download of %s from %s: %d bytes that differ from the %d uploaded", p.id, p.addr, buf.Len(), len(data))
		}
		url := "http://" + net.JoinHostPort(byAddr[p.addr].net.ip, strconv.Itoa(labStorageHTTP)) + "/" + p.id
		resp, err := hc.Get(url)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, data) {
			return fmt.Errorf("GET %s: %s with %d bytes, want 200 with the %d uploaded", url, resp.Status, len(b), len(data))
		}
		return nil
	}
	poll(c.t, "every acknowledged file from every storage of its group", timeout, func() error {
		// Check the pairs left in parallel; stop early after a few failures (replication
		// may still be catching up).
		var (
			mu   sync.Mutex
			errs []error
			ok   []pair
			wg   sync.WaitGroup
		)
		jobs := make(chan pair)
		for range 8 {
			wg.Go(func() {
				for p := range jobs {
					err := check(p)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					} else {
						ok = append(ok, p)
					}
					mu.Unlock()
				}
			})
		}
		for p := range pending {
			mu.Lock()
			failed := len(errs)
			mu.Unlock()
			if failed >= 3 {
				break
			}
			jobs <- p
		}
		close(jobs)
		wg.Wait()
		for _, p := range ok {
			delete(pending, p)
		}
		if len(pending) > 0 {
			return fmt.Errorf("%d (file, storage) pairs left: %w", len(pending), errors.Join(errs...))
		}
		return nil
	}, c.all...)
	for _, s := range c.storages {
		got, err := onDisk(s.store)
		if err != nil {
			c.t.Fatalf("%s: %v", s.name, err)
		}
		for rel := range got {
			if _, ok := want[s.addr][rel]; !ok {
				c.t.Errorf("%s holds %s, which no client was told about", s.name, rel)
			}
		}
	}
	c.logf("%d files, each read back from every storage of its group over gRPC and HTTP", len(files))
}
