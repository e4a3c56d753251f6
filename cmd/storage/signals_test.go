package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/token"
)

// testNode is a storage process on one loopback address with its config files in dir.
type testNode struct {
	*proc
	dir, host  string
	grpc, http string // addresses
	base       string // storage.conf without the keys a test edits
}

// startNode writes dir/storage.conf (base keys plus extra) and dir/mod_fastdfs.conf (modBody),
// and runs the storage binary on host with the given HTTP port (0: a free one).
func startNode(t *testing.T, bin, host string, httpPort int, extra, modBody string) *testNode {
	t.Helper()
	if httpPort == 0 {
		httpPort = freePort(t)
	}
	dir := t.TempDir()
	n := &testNode{dir: dir, host: host, grpc: fmt.Sprintf("%s:%d", host, freePort(t)), http: fmt.Sprintf("%s:%d", host, httpPort)}
	_, grpcPort, _ := net.SplitHostPort(n.grpc)
	n.base = fmt.Sprintf("group_name = group1\nbind_addr = %s\nport = %s\nbase_path = %s\nsubdir_count_per_path = 2\n"+
		"http.server_port = %d\nreserved_storage_space = 1%%\n", host, grpcPort, dir, httpPort)
	n.writeConf(t, extra)
	n.writeMod(t, modBody)
	n.proc = startProc(t, bin, filepath.Join(dir, "storage.conf"), n.grpc)
	return n
}

// writeConf rewrites storage.conf as the base keys plus extra.
func (n *testNode) writeConf(t *testing.T, extra string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(n.dir, "storage.conf"), []byte(n.base+extra), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeMod rewrites mod_fastdfs.conf as the base keys plus extra.
func (n *testNode) writeMod(t *testing.T, extra string) {
	t.Helper()
	body := "base_path = " + n.dir + "\ngroup_name = group1\nurl_have_group_name = true\n" + extra
	if err := os.WriteFile(filepath.Join(n.dir, "mod_fastdfs.conf"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signal sends sig to the process.
func (n *testNode) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// reload sends SIGHUP and waits for the next log line that says how it went: "configuration
// reloaded" or "reload refused". It returns that line.
func (n *testNode) reload(t *testing.T) string {
	t.Helper()
	before := n.stderr.String()
	n.signal(t, syscall.SIGHUP)
	var line string
	waitFor(t, n.proc, func() bool {
		for l := range strings.SplitSeq(strings.TrimPrefix(n.stderr.String(), before), "\n") {
			if strings.Contains(l, "configuration reloaded") || strings.Contains(l, "reload refused") {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// logged reports whether the process wrote a line containing s.
func (n *testNode) logged(s string) bool { return strings.Contains(n.stderr.String(), s) }

// upload stores body on n and returns its file ID.
func (n *testNode) upload(t *testing.T, body []byte) string {
	t.Helper()
	c, err := client.New(client.Config{Storage: n.grpc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "bin", Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// get fetches path from n without following redirects and returns the status and body.
func (n *testNode) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("http://" + n.http + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// download is a GET in flight on its own connection.
type download struct {
	resp  *http.Response
	first []byte
	done  chan []byte // the whole body as received (nil when the connection broke)
}

// startDownload sends GET /id and returns once the header and the first KiB are in; the rest
// is read in the background.
func (n *testNode) startDownload(t *testing.T, id string) *download {
	t.Helper()
	c, err := net.Dial("tcp", n.http)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /%s HTTP/1.1\r\nHost: depot\r\nConnection: close\r\n\r\n", id)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &download{resp: resp, first: make([]byte, 1024), done: make(chan []byte, 1)}
	if _, err := io.ReadFull(resp.Body, d.first); err != nil {
		t.Fatal(err)
	}
	go func() {
		rest, err := io.ReadAll(resp.Body)
		if err != nil {
			d.done <- nil
			return
		}
		d.done <- append(d.first, rest...)
	}()
	return d
}

// wait returns the body of d, or nil when its connection broke.
func (d *download) wait(t *testing.T, within time.Duration) []byte {
	t.Helper()
	select {
	case b := <-d.done:
		return b
	case <-time.After(within):
		t.Fatalf("the download did not end within %v", within)
		return nil
	}
}

// exited waits for the process to exit and returns its status.
func (n *testNode) exited(t *testing.T, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case <-done:
		return n.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("the process did not exit within %v; stderr:\n%s", within, n.stderr)
		return -1
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// sharedPort finds a port free on both 127.0.0.1 and 127.0.0.2: redirect and proxy reach a
// file's source at its address with the node's own HTTP port, as FastDFS does.
func sharedPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.2:%d", port))
		a.Close()
		if err == nil {
			b.Close()
			return port
		}
	}
	t.Skip("no port free on both 127.0.0.1 and 127.0.0.2")
	return 0
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the storage binary")
	}
}

// TestSIGHUPRedirectToProxy: a node that redirects misses to the file's source switches to
// proxying them on SIGHUP, while a long (rate-limited) download from it goes on unharmed.
func TestSIGHUPRedirectToProxy(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	port := sharedPort(t)
	src := startNode(t, bin, "127.0.0.1", port, "", "")
	const paced = "http.limit_rate = 256K\n"
	here := startNode(t, bin, "127.0.0.2", port, paced, "response_mode = redirect\n")
	onSource := randomBytes(40 << 10)
	missing := src.upload(t, onSource)
	local := randomBytes(768 << 10) // about 3 s at 256 KiB/s
	localID := here.upload(t, local)

	if code, _ := here.get(t, "/"+missing); code != http.StatusFound {
		t.Fatalf("before SIGHUP: status %d, want 302", code)
	}
	d := here.startDownload(t, localID)
	here.writeMod(t, "response_mode = proxy\n")
	if line := here.reload(t); !strings.Contains(line, "configuration reloaded") || !strings.Contains(line, "response_mode") {
		t.Fatalf("SIGHUP: %s", line)
	}
	code, got := here.get(t, "/"+missing)
	if code != http.StatusOK || !bytes.Equal(got, onSource) {
		t.Fatalf("after SIGHUP: status %d, %d bytes; want 200 with the source's %d bytes (proxied)", code, len(got), len(onSource))
	}
	if body := d.wait(t, 30*time.Second); !bytes.Equal(body, local) {
		t.Fatalf("the download in flight got %d bytes, want the %d of the file", len(body), len(local))
	}
}

// TestSIGHUPTokenCheckAndLogLevel: SIGHUP turns the token check on and the log level down to
// debug; a changed port is logged as needing a restart and the node stays where it was.
func TestSIGHUPTokenCheckAndLogLevel(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	n := startNode(t, bin, "127.0.0.1", 0, "log_level = info\n", "")
	body := randomBytes(1000)
	id := n.upload(t, body)
	if n.logged("uploaded") {
		t.Fatal(`"uploaded" (a debug line) logged at log_level = info`)
	}
	if code, _ := n.get(t, "/"+id); code != http.StatusOK {
		t.Fatalf("before SIGHUP, no token: status %d", code)
	}

	n.writeMod(t, "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = s3cret\nhttp.anti_steal.token_ttl = 600\n")
	_, grpcPort, _ := net.SplitHostPort(n.grpc)
	n.base = strings.Replace(n.base, "\nport = "+grpcPort+"\n", fmt.Sprintf("\nport = %d\n", freePort(t)), 1) // needs a restart
	n.writeConf(t, "log_level = debug\n")
	line := n.reload(t)
	for _, k := range []string{"configuration reloaded", "log_level", "http.anti_steal.check_token", "http.anti_steal.secret_key"} {
		if !strings.Contains(line, k) {
			t.Errorf("SIGHUP line %q does not name %q", line, k)
		}
	}
	if !n.logged(`changed key needs a restart; the running value stays" file=` + filepath.Join(n.dir, "storage.conf") + " key=port") {
		t.Errorf("no restart line for port; stderr:\n%s", n.stderr)
	}
	if code, _ := n.get(t, "/"+id); code != http.StatusBadRequest {
		t.Errorf("after SIGHUP, no token: status %d, want 400", code)
	}
	ts := time.Now().Unix()
	code, got := n.get(t, fmt.Sprintf("/%s?token=%s&ts=%d", id, token.Sign("s3cret", id[len("group1/"):], ts), ts))
	if code != http.StatusOK || !bytes.Equal(got, body) {
		t.Errorf("after SIGHUP, signed: status %d, %d bytes", code, len(got))
	}
	n.upload(t, body) // on the old port still
	waitFor(t, n.proc, func() bool { return n.logged("uploaded") })
}

// TestSIGHUPBadFileKeepsSettings: a file that does not parse, or does not validate, is refused
// with its file:line, and the settings in force stay.
func TestSIGHUPBadFileKeepsSettings(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	n := startNode(t, bin, "127.0.0.1", 0, "", "response_mode = redirect\n")
	id := n.upload(t, randomBytes(100))
	confLine := strings.Count(n.base, "\n") + 2 // the second line of extra
	n.writeConf(t, "http.limit_rate = 1M\nhttp.limit_rate = fast\n")
	n.writeMod(t, "http.anti_steal.check_token = true\n")
	line := n.reload(t)
	if want := fmt.Sprintf("storage.conf:%d", confLine); !strings.Contains(line, "reload refused") || !strings.Contains(line, want) {
		t.Errorf("bad storage.conf: %q, want a refusal naming %s", line, want)
	}
	n.writeConf(t, "")
	n.writeMod(t, "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = k\nhttp.anti_steal.token_ttl = 0\n")
	line = n.reload(t)
	if !strings.Contains(line, "reload refused") || !strings.Contains(line, "mod_fastdfs.conf:6") || !strings.Contains(line, "token_ttl") {
		t.Errorf("invalid mod_fastdfs.conf: %q, want a refusal naming mod_fastdfs.conf:6 and token_ttl", line)
	}
	if code, _ := n.get(t, "/"+id); code != http.StatusOK {
		t.Errorf("after refused reloads: status %d, want 200 (no token check)", code)
	}
	if n.logged("configuration reloaded") {
		t.Error("a refused reload was applied")
	}
}

// TestSIGHUPRateLimit: http.limit_rate set by SIGHUP paces the next download.
func TestSIGHUPRateLimit(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	n := startNode(t, bin, "127.0.0.1", 0, "", "")
	body := randomBytes(384 << 10)
	id := n.upload(t, body)
	timed := func() time.Duration {
		start := time.Now()
		code, got := n.get(t, "/"+id)
		if code != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("status %d, %d bytes", code, len(got))
		}
		return time.Since(start)
	}
	if took := timed(); took > time.Second {
		t.Fatalf("unlimited: %v for 384 KiB", took)
	}
	n.writeConf(t, "http.limit_rate = 128K\n")
	if line := n.reload(t); !strings.Contains(line, "http.limit_rate") {
		t.Fatalf("SIGHUP: %s", line)
	}
	// 384 KiB at 128 KiB/s: about 3 s.
	if took := timed(); took < 2*time.Second {
		t.Errorf("limit_rate 128K: %v for 384 KiB, want about 3 s", took)
	}
}

// TestSIGTERMDrains: SIGTERM (or SIGINT) stops accepting, lets a slow download in flight finish
// within stop_timeout (longer than the 5 s a stop used to allow) and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			n := startNode(t, bin, "127.0.0.1", 0, "http.limit_rate = 128K\nstop_timeout = 30\n", "")
			body := randomBytes(832 << 10) // about 6.5 s at 128 KiB/s
			id := n.upload(t, body)
			d := n.startDownload(t, id)
			start := time.Now()
			n.signal(t, sig)
			waitFor(t, n.proc, func() bool {
				c, err := net.DialTimeout("tcp", n.http, time.Second)
				if err == nil {
					c.Close()
				}
				return err != nil
			})
			if got := d.wait(t, 30*time.Second); !bytes.Equal(got, body) {
				t.Fatalf("the download in flight got %d bytes, want %d", len(got), len(body))
			}
			if code := n.exited(t, 30*time.Second); code != 0 {
				t.Fatalf("exit status %d, want 0; stderr:\n%s", code, n.stderr)
			}
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("stop took %v", took)
			}
			if !n.logged("storage node stopped") || n.logged("closing the connections") || n.logged("deadline passed") {
				t.Errorf("stderr:\n%s", n.stderr)
			}
		})
	}
}

// TestSecondSIGTERM: a second SIGTERM during the wait for a long download stops at once.
func TestSecondSIGTERM(t *testing.T) {
	skipShort(t)
	bin := buildStorage(t)
	n := startNode(t, bin, "127.0.0.1", 0, "http.limit_rate = 64K\nstop_timeout = 120\n", "")
	id := n.upload(t, randomBytes(2<<20)) // 32 s at 64 KiB/s
	d := n.startDownload(t, id)
	n.signal(t, syscall.SIGTERM)
	waitFor(t, n.proc, func() bool { return n.logged("stopping;") })
	start := time.Now()
	n.signal(t, syscall.SIGTERM)
	code := n.exited(t, 10*time.Second)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exit %v after the second SIGTERM", took)
	}
	if code != 0 {
		t.Errorf("exit status %d, want 0 (files closed); stderr:\n%s", code, n.stderr)
	}
	if got := d.wait(t, 10*time.Second); got != nil && len(got) == 2<<20 {
		t.Error("the download finished: it was not cut")
	}
	if !n.logged("second signal") {
		t.Errorf("stderr:\n%s", n.stderr)
	}
}
