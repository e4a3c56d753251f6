package storage_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// startPacedNode starts a node whose downloads go at rate (http.limit_rate) with the given
// stop_timeout.
func startPacedNode(t *testing.T, rate string, stop time.Duration) *storage.Server {
	t.Helper()
	dir := t.TempDir()
	return launch(t, dir, fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nsubdir_count_per_path = 2\n"+
		"reserved_storage_space = 1%%\nhttp.limit_rate = %[2]s\n", dir, rate),
		"base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\n",
		func(sc *conf.Storage) { sc.Port, sc.HTTP.ServerPort, sc.StopTimeout = 0, 0, stop })
}

// startDownload sends GET /id and returns the response once its header and first bytes are in.
func startDownload(t *testing.T, node *storage.Server, id string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", node.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n", id)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	return resp, first
}

// TestCloseLetsDownloadsFinish: Close stops accepting at once and waits, within stop_timeout,
// for a download in flight, which completes whole.
func TestCloseLetsDownloadsFinish(t *testing.T) {
	node := startPacedNode(t, "256K", 30*time.Second)
	if node.StopTimeout() != 30*time.Second {
		t.Fatalf("StopTimeout = %v", node.StopTimeout())
	}
	id, body := uploadRandom(t, node, 512<<10) // about 2 s at 256 KiB/s
	resp, first := startDownload(t, node, id)
	addr := node.HTTPAddr()
	closed := make(chan error, 1)
	go func() { closed <- node.Close() }()
	waitFor(t, "the HTTP port to refuse connections", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download in flight broke: %v", err)
	}
	if got := append(first, rest...); len(got) != len(body) || string(got) != string(body) {
		t.Fatalf("the download in flight got %d bytes, want %d", len(got), len(body))
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the last download finished")
	}
}

// TestCloseDeadline: a download longer than stop_timeout is cut at the deadline.
func TestCloseDeadline(t *testing.T) {
	node := startPacedNode(t, "64K", 300*time.Millisecond)
	id, body := uploadRandom(t, node, 1<<20) // 16 s at 64 KiB/s
	resp, first := startDownload(t, node, id)
	start := time.Now()
	if err := node.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	took := time.Since(start)
	rest, _ := io.ReadAll(resp.Body)
	if n := len(first) + len(rest); n >= len(body) {
		t.Fatalf("the download got all %d bytes: not cut", n)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("Close took %v with stop_timeout 300ms", took)
	}
}

// TestShutdownCanceled: cancelling Shutdown's context (a second signal) cuts the drain short.
func TestShutdownCanceled(t *testing.T) {
	node := startPacedNode(t, "64K", time.Hour)
	id, _ := uploadRandom(t, node, 1<<20)
	resp, _ := startDownload(t, node, id)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	if err := node.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Shutdown took %v after its context was cancelled at 200ms", took)
	}
	io.Copy(io.Discard, resp.Body)
}

// TestCloseLeavesTrackers: Close tells every tracker the node is leaving, with the key the
// tracker gave it, after its last heartbeat; with stop_timeout 0 too.
func TestCloseLeavesTrackers(t *testing.T) {
	for _, stop := range []string{"30", "0"} {
		t.Run("stop_timeout="+stop, func(t *testing.T) { testCloseLeavesTrackers(t, "stop_timeout = "+stop+"\n") })
	}
}

func testCloseLeavesTrackers(t *testing.T, extra string) {
	a, b := startFakeTracker(t, "127.0.0.1"), startFakeTracker(t, "127.0.0.1")
	node := startReportingNodeWith(t, extra, "", a.addr, b.addr)
	for _, f := range []*fakeTracker{a, b} {
		waitFor(t, "a join and a heartbeat on "+f.addr, func() bool { j, h := f.counts(); return j >= 1 && h >= 1 })
	}
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(node.GRPCAddr())
	for _, f := range []*fakeTracker{a, b} {
		f.mu.Lock()
		leaves, beats, atLeave := f.leaves, len(f.beats), f.beatsAtLeave
		f.mu.Unlock()
		if len(leaves) != 1 || leaves[0].GetStorageKey() != "127.0.0.3:"+port || leaves[0].GetGroup() != "group1" {
			t.Errorf("tracker %s got Leave %v", f.addr, leaves)
		}
		if beats != atLeave {
			t.Errorf("tracker %s: %d heartbeats after the Leave", f.addr, beats-atLeave)
		}
	}
}
