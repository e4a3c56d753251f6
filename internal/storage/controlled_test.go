package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// receiver is a completion-callback endpoint that records the events it got, and can be
// down (503).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	down   bool
	events []accounting.Completion
	raw    []map[string]any
}

func startReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var c accounting.Completion
		var m map[string]any
		if r.Method != http.MethodPost || json.Unmarshal(body, &c) != nil || json.Unmarshal(body, &m) != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		rc.events = append(rc.events, c)
		rc.raw = append(rc.raw, m)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []accounting.Completion {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]accounting.Completion(nil), rc.events...)
}

func (rc *receiver) setDown(down bool) { rc.mu.Lock(); rc.down = down; rc.mu.Unlock() }

// accountingSecret signs the URLs that name a user on startAccountingNode's nodes.
const accountingSecret = "s3cret"

// startAccountingNode starts a node in dir with accounting and a callback to rc (none when
// rc is nil: accounting on by its own key), plus extra storage.conf lines.
func startAccountingNode(t *testing.T, dir string, rc *receiver, extra string) *storage.Server {
	t.Helper()
	on := "http.accounting.enabled = true"
	if rc != nil {
		on = "http.completion_callback.url = " + rc.URL
	}
	storageConf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nbase_path = %[1]s\nstore_path0 = %[1]s\n"+
		"subdir_count_per_path = 2\nnetwork_timeout = 2\nreserved_storage_space = 1%%\nhttp.mod_fastdfs_conf = mod_fastdfs.conf\n"+
		"%[2]s\n%[3]s", dir, on, extra)
	// The secret names the users of signed URLs (accountingSecret); the token check stays off.
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n" +
		"http.anti_steal.secret_key = " + accountingSecret + "\n"
	return launchWith(t, dir, storageConf, modConf, storage.Config{CallbackBackoff: 50 * time.Millisecond})
}

// launchWith is launch with extra node config.
func launchWith(t *testing.T, dir, storageConf, modConf string, base storage.Config) *storage.Server {
	t.Helper()
	writeFile(t, filepath.Join(dir, "storage.conf"), storageConf)
	writeFile(t, filepath.Join(dir, "mod_fastdfs.conf"), modConf)
	sc, err := conf.LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.Port, sc.HTTP.ServerPort = 0, 0
	mod, err := conf.LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	base.Storage, base.Mod = *sc, mod
	node, err := storage.New(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

func uploadRandom(t *testing.T, node *storage.Server, size int) (string, []byte) {
	t.Helper()
	body := make([]byte, size)
	rand.Read(body)
	id, err := dial(t, node).Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "bin", Size: int64(size)})
	if err != nil {
		t.Fatal(err)
	}
	return id, body
}

// settle waits until the accountant merged everything reported so far and the sweeper had
// time to resolve what is pending, then returns the completions counted.
func completedAfter(t *testing.T, node *storage.Server, wait time.Duration) uint64 {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	node.Accounting().Sync()
	return node.Accounting().Stats().Completed
}

func waitEvents(t *testing.T, rc *receiver, n int) []accounting.Completion {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := rc.got(); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callback events arrived", len(rc.got()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAria2cManyConnectionsOneCompletion: aria2c fetching a 20 MiB file over 16 connections is
// one completed download and one callback.
func TestAria2cManyConnectionsOneCompletion(t *testing.T) {
	aria, err := exec.LookPath("aria2c")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("aria2c missing under CI (.ci/run installs the aria2 package)")
		}
		t.Skip("aria2c not installed (apt-get install aria2)")
	}
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "")
	id, body := uploadRandom(t, node, 20<<20)
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), aria, "-x16", "-s16", "-k1M", "--min-split-size=1M", "--allow-overwrite=true",
		"--console-log-level=warn", "--summary-interval=0", "-d", out, "-o", "f.bin", "http://"+node.HTTPAddr()+"/"+id)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aria2c: %v\n%s", err, b)
	}
	got, err := os.ReadFile(filepath.Join(out, "f.bin"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("aria2c's copy differs (%d bytes, %v)", len(got), err)
	}
	waitEvents(t, rc, 1)
	if n := completedAfter(t, node, 300*time.Millisecond); n != 1 {
		t.Fatalf("completions = %d, want exactly 1", n)
	}
	if evs := rc.got(); len(evs) != 1 {
		t.Fatalf("callbacks = %d, want exactly 1: %+v", len(evs), evs)
	}
	ev := rc.got()[0]
	if ev.FileID != id || ev.User != "127.0.0.1" || ev.Client != "127.0.0.1" || ev.Size != 20<<20 || ev.Connections < 2 ||
		ev.Started.IsZero() || ev.Completed.Before(ev.Started) || ev.ID == "" || ev.Event != "download.completed" {
		t.Errorf("event = %+v", ev)
	}
	t.Logf("aria2c: %d connections delivered bytes", ev.Connections)
}

// TestPartialThenRest: a client that reads part of a file and closes is no completion; the
// same user fetching the rest with a Range request completes it, once.
func TestPartialThenRest(t *testing.T) {
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "")
	const size = 8 << 20
	id, body := uploadRandom(t, node, size)

	c, err := net.Dial("tcp", node.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\n\r\n", id)
	buf := make([]byte, 1<<20)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := completedAfter(t, node, 500*time.Millisecond); n != 0 {
		t.Fatalf("a download read in part counted %d completions", n)
	}
	// The header took some of the first MiB; ask for everything from 512 KiB on.
	req, _ := http.NewRequest(http.MethodGet, "http://"+node.HTTPAddr()+"/"+id, nil)
	req.Header.Set("Range", "bytes=524288-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(rest, body[524288:]) {
		t.Fatalf("range: %s, %d bytes", resp.Status, len(rest))
	}
	evs := waitEvents(t, rc, 1)
	if n := completedAfter(t, node, 300*time.Millisecond); n != 1 || len(rc.got()) != 1 {
		t.Fatalf("completions %d, callbacks %d; want 1 and 1", n, len(rc.got()))
	}
	if evs[0].Connections != 2 {
		t.Errorf("connections = %d, want 2", evs[0].Connections)
	}
}

// TestWholeDownloadsOnOneConnection: whole downloads on one keep-alive connection, of two files
// by anonymous and named users, each count for their own (user, file); one whose user had left
// a partial download of the file completes that download, whose union then starts again. The
// same with a callback (every delivery goes through the accountant's queue) and without (a
// whole download of a pair without state is counted where its acknowledgement is seen).
func TestWholeDownloadsOnOneConnection(t *testing.T) {
	for _, callback := range []bool{true, false} {
		t.Run(fmt.Sprintf("callback=%v", callback), func(t *testing.T) {
			var rc *receiver
			if callback {
				rc = startReceiver(t)
			}
			node := startAccountingNode(t, t.TempDir(), rc, "")
			const size = 64 << 10
			idA, bodyA := uploadRandom(t, node, size)
			idB, bodyB := uploadRandom(t, node, size)
			base := "http://" + node.HTTPAddr()
			signed := func(id, user string) string {
				u, err := client.SignedURLWith(accountingSecret, base, id, client.SignOptions{Expires: time.Now().Add(time.Hour), User: user})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}
			fetch := func(c *http.Client, url, rng string, want []byte) {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if rng != "" {
					req.Header.Set("Range", rng)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("GET %s (Range %q): %s, %d bytes, %v; want %d bytes", url, rng, resp.Status, len(got), err, len(want))
				}
			}
			settled := func() accounting.Stats {
				t.Helper()
				completedAfter(t, node, 500*time.Millisecond)
				return node.Accounting().Stats()
			}

			// carol's first half of A, on a connection of its own: state for (carol, A).
			fetch(&http.Client{Transport: &http.Transport{}}, signed(idA, "carol"), "bytes=0-32767", bodyA[:32768])
			if st := settled(); st.Completed != 0 || st.Entries != 1 {
				t.Fatalf("after half a download: %d completed, %d pairs; want 0 and 1", st.Completed, st.Entries)
			}

			// One keep-alive connection, six whole downloads.
			tr := &http.Transport{MaxConnsPerHost: 1}
			t.Cleanup(tr.CloseIdleConnections)
			keep := &http.Client{Transport: tr}
			dials := 0
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials++
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			fetch(keep, base+"/"+idA, "", bodyA)
			fetch(keep, base+"/"+idB, "", bodyB)
			fetch(keep, base+"/"+idA, "", bodyA)
			fetch(keep, signed(idA, "alice"), "", bodyA)
			fetch(keep, signed(idB, "bob"), "", bodyB)
			fetch(keep, signed(idA, "carol"), "", bodyA)
			if dials != 1 {
				t.Fatalf("the six downloads took %d connections, want 1", dials)
			}
			if st := settled(); st.Completed != 6 || st.Entries != 0 || st.Responses != 7 {
				t.Fatalf("after six whole downloads: %d completed, %d pairs, %d responses; want 6, 0 (carol's union done) and 7", st.Completed, st.Entries, st.Responses)
			}

			// carol's second half is no completion now: her union started again.
			fetch(&http.Client{Transport: &http.Transport{}}, signed(idA, "carol"), "bytes=32768-", bodyA[32768:])
			if st := settled(); st.Completed != 6 || st.Entries != 1 {
				t.Fatalf("after the second half: %d completed, %d pairs; want 6 and 1", st.Completed, st.Entries)
			}
			if rc == nil {
				return
			}
			evs := waitEvents(t, rc, 6)
			got := map[string]int{}
			for _, ev := range evs {
				got[ev.User+" "+ev.FileID]++
				if ev.User == "carol" && ev.Connections != 2 {
					t.Errorf("carol's download: %d connections, want 2 (her half, then the whole file)", ev.Connections)
				}
			}
			want := map[string]int{"127.0.0.1 " + idA: 2, "127.0.0.1 " + idB: 1, "alice " + idA: 1, "bob " + idB: 1, "carol " + idA: 1}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("events by user and file: %v, want %v", got, want)
			}
		})
	}
}

// TestStalledReaderNotCounted: a client that reads the start of a download and then stops
// reading (connection open) is not counted, even once the node gave up on it.
func TestStalledReaderNotCounted(t *testing.T) {
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "")
	id, _ := uploadRandom(t, node, 4<<20)
	c, err := net.Dial("tcp", node.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\n\r\n", id)
	if _, err := io.ReadFull(c, make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
	// network_timeout is 2 s: the node ends the send, and the watch resolves without progress.
	deadline := time.Now().Add(15 * time.Second)
	for node.Accounting().Stats().Responses == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled response was never reported")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := completedAfter(t, node, 300*time.Millisecond); n != 0 || len(rc.got()) != 0 {
		t.Fatalf("a stalled reader counted: %d completions, %d callbacks", n, len(rc.got()))
	}
	st := node.Accounting().Stats()
	if st.Responses != 1 || st.Aborted != 1 || st.BytesSent != 4<<20 || st.BytesAcked >= 2<<20 || st.BytesAcked < 200<<10 {
		t.Errorf("per-response record: %+v; want 1 aborted response of 4 MiB with about what was read acknowledged", st)
	}
}

// TestCallbackOutageAndRestart: with the receiver down, completions wait in the queue across a
// node restart and all arrive once it is back.
func TestCallbackOutageAndRestart(t *testing.T) {
	dir := t.TempDir()
	rc := startReceiver(t)
	rc.setDown(true)
	node := startAccountingNode(t, dir, rc, "")
	var ids []string
	for range 3 {
		id, _ := uploadRandom(t, node, 64<<10)
		ids = append(ids, id)
		if code, _, _ := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+id); code != 200 {
			t.Fatalf("download: %d", code)
		}
	}
	if n := completedAfter(t, node, 300*time.Millisecond); n != 3 {
		t.Fatalf("completions = %d, want 3", n)
	}
	node.Close()
	node = startAccountingNode(t, dir, rc, "")
	if code, _, _ := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+ids[0]); code != 200 {
		t.Fatalf("download: %d", code)
	}
	if n := completedAfter(t, node, 300*time.Millisecond); n != 1 {
		t.Fatalf("completions after restart = %d, want 1", n)
	}
	rc.setDown(false)
	evs := waitEvents(t, rc, 4)
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] {
			t.Errorf("event %s delivered twice", ev.ID)
		}
		seen[ev.ID] = true
	}
}

// TestAuthUserAndXAccelUserCounted: the user an auth service (X-Depot-User) or an X-Accel app
// names is the user a completed download is recorded for; an auth refusal sends nothing and
// counts nothing.
func TestAuthUserAndXAccelUserCounted(t *testing.T) {
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("X-Depot-User", "user-"+c.Value)
	}))
	t.Cleanup(auth.Close)
	var fileID atomic.Value
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Accel-Redirect", "/"+fileID.Load().(string))
		w.Header().Set("X-Depot-User", "app-user")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	rc := startReceiver(t)
	node := startAccountingNode(t, dir, rc, "http.auth_request.url = "+auth.URL+"\nhttp.x_accel.prefix = /dl/\nhttp.x_accel.upstream = "+app.URL+"\n")
	id, body := uploadRandom(t, node, 300<<10)
	fileID.Store(id)
	url := "http://" + node.HTTPAddr() + "/" + id

	code, _, got := httpGet(t, http.MethodGet, url)
	if code != http.StatusForbidden || bytes.Contains(got, body[:64]) {
		t.Fatalf("no session: %d with %d bytes, want 403 and none of the file", code, len(got))
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: "42"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("with a session: %s, %d bytes", resp.Status, len(got))
	}
	if code, _, got := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/dl/anything"); code != 200 || !bytes.Equal(got, body) {
		t.Fatalf("X-Accel: %d, %d bytes", code, len(got))
	}
	evs := waitEvents(t, rc, 2)
	users := map[string]bool{}
	for _, ev := range evs {
		users[ev.User] = true
	}
	if len(evs) != 2 || !users["user-42"] || !users["app-user"] {
		t.Errorf("completions for %v, want user-42 (auth) and app-user (X-Accel)", users)
	}
}
