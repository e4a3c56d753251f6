package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
)

// The scenarios of this file drive Depot with a FastDFS client that no one here wrote: the
// npm package fdfs (pinned in npm/package.json), run by npm/driver.js on the machine's
// Node.js. It speaks FastDFS's binary protocol to the tracker's and the storages' usual
// ports, which Depot shares with gRPC. What the client sends, byte for byte, is written up
// in npm/README.md.

// npmClientDir returns the folder holding driver.js and node_modules. Without node or the
// installed package the test is skipped, except in CI (CI=true), where .ci/run installs
// them and their absence is a failure.
func npmClientDir(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binaries and Node.js")
	}
	dir, err := filepath.Abs("npm")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node on PATH (Node.js 20)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fdfs", "package.json")); err != nil {
		missing = append(missing, "the npm package fdfs in "+filepath.Join(dir, "node_modules")+" (run: npm ci --prefix cluster-test/npm)")
	}
	if len(missing) > 0 {
		msg := "the npm FastDFS client scenario needs " + strings.Join(missing, " and ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; .ci/run installs them, so in CI their absence is a failure")
		}
		t.Skip(msg)
	}
	return dir
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// npmFdfs is a running driver.js: one request line in, one answer line out.
type npmFdfs struct {
	t      *testing.T
	in     io.WriteCloser
	lines  chan []byte
	stderr *lockedBuffer
	procs  []*proc // whose logs a failure shows
	next   int
}

type npmAnswer struct {
	ID      int             `json:"id"`
	OK      bool            `json:"ok"`
	Code    *int            `json:"code"`
	Error   string          `json:"error"`
	FileID  string          `json:"fileId"`
	Info    *npmFileInfo    `json:"info"`
	Meta    json.RawMessage `json:"meta"`
	Groups  []npmGroup      `json:"groups"`
	Answers []npmAnswer     `json:"answers"` // of a parallel request, in its order
}

// npmGroup is what the client makes of one LIST_GROUPS record (the fields checked).
type npmGroup struct {
	GroupName          string `json:"groupName"`
	TotalMB            int64  `json:"totalMB"`
	FreeMB             int64  `json:"freeMB"`
	StorageCount       int64  `json:"storageCount"`
	StoragePort        int64  `json:"storagePort"`
	StorageHTTPPort    int64  `json:"storageHttpPort"`
	ActiveCount        int64  `json:"activeCount"`
	StorePathCount     int64  `json:"storePathCount"`
	SubdirCountPerPath int64  `json:"subdirCountPerPath"`
}

// npmFileInfo is what the client makes of a QUERY_FILE_INFO answer.
type npmFileInfo struct {
	Size      int64  `json:"size"`
	Timestamp int64  `json:"timestamp"`
	Crc32     int64  `json:"crc32"`
	Addr      string `json:"addr"`
}

func (a npmAnswer) String() string {
	if a.OK {
		return "ok"
	}
	code := "none"
	if a.Code != nil {
		code = strconv.Itoa(*a.Code)
	}
	return fmt.Sprintf("error %q (FastDFS status %s)", a.Error, code)
}

func startNpm(t *testing.T, dir string, trackers []string, procs []*proc) *npmFdfs {
	t.Helper()
	cmd := exec.Command("node", "driver.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEPOT_TRACKERS="+strings.Join(trackers, ","), "DEPOT_OP_TIMEOUT_MS=30000")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &npmFdfs{t: t, in: in, lines: make(chan []byte, 1), stderr: &lockedBuffer{}, procs: procs}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node driver.js: %v", err)
	}
	go func() {
		defer close(n.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			n.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return n
}

// logs is the driver's stderr and the processes' output, for a failure message.
func (n *npmFdfs) logs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- node driver.js stderr:\n%s\n", n.stderr.String())
	for _, p := range n.procs {
		fmt.Fprintf(&b, "--- %s:\n%s\n", p.name, p.output())
	}
	return b.String()
}

// call sends one operation and returns the client's answer.
func (n *npmFdfs) call(req map[string]any) npmAnswer {
	n.t.Helper()
	n.next++
	req["id"] = n.next
	line, err := json.Marshal(req)
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.in.Write(append(line, '\n')); err != nil {
		n.t.Fatalf("write to driver.js: %v\n%s", err, n.logs())
	}
	select {
	case b, ok := <-n.lines:
		if !ok {
			n.t.Fatalf("driver.js exited during %s\n%s", line, n.logs())
		}
		var a npmAnswer
		if err := json.Unmarshal(b, &a); err != nil || a.ID != n.next {
			n.t.Fatalf("driver.js answered %q to %s (%v)\n%s", b, line, err, n.logs())
		}
		return a
	case <-time.After(60 * time.Second):
		n.t.Fatalf("driver.js gave no answer to %s in 60 s\n%s", line, n.logs())
	}
	return npmAnswer{}
}

// ok sends an operation that must succeed.
func (n *npmFdfs) ok(what string, req map[string]any) npmAnswer {
	n.t.Helper()
	a := n.call(req)
	if !a.OK {
		n.t.Fatalf("%s: %s\n%s", what, a, n.logs())
	}
	return a
}

// fails sends an operation that must fail with FastDFS status code.
func (n *npmFdfs) fails(what string, code int, req map[string]any) {
	n.t.Helper()
	a := n.call(req)
	if a.OK || a.Code == nil || *a.Code != code {
		n.t.Errorf("%s: %s, want FastDFS status %d", what, a, code)
	}
}

// download fetches id (whole, or length bytes from offset) into a file and returns its bytes.
func (n *npmFdfs) download(dir, id string, offset, length int) []byte {
	n.t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("download-%d", n.next+1))
	req := map[string]any{"op": "download", "fileId": id, "path": path}
	if offset > 0 {
		req["offset"] = offset
	}
	if length > 0 {
		req["bytes"] = length
	}
	n.ok(fmt.Sprintf("download %s [%d,+%d)", id, offset, length), req)
	b, err := os.ReadFile(path)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

func (n *npmFdfs) meta(id string) map[string]string {
	n.t.Helper()
	a := n.ok("get metadata of "+id, map[string]any{"op": "getmeta", "fileId": id})
	m := map[string]string{}
	if err := json.Unmarshal(a.Meta, &m); err != nil {
		n.t.Fatalf("get metadata of %s: the client returned %s: %v", id, a.Meta, err)
	}
	return m
}

// checkInfo compares the client's file info with what was uploaded.
func checkInfo(t *testing.T, id string, got *npmFileInfo, data []byte, source string, from, to time.Time) {
	t.Helper()
	if got == nil {
		t.Fatalf("info of %s: no info in the answer", id)
	}
	// FastDFS sends the crc as a sign-extended 32-bit int; the client then reads it as
	// the signed value. Its low 32 bits are the CRC either way.
	if got.Size != int64(len(data)) || uint32(got.Crc32) != crc32.ChecksumIEEE(data) || got.Addr != source {
		t.Errorf("info of %s = %+v; want size %d, crc32 %d, source %s", id, *got, len(data), crc32.ChecksumIEEE(data), source)
	}
	if got.Timestamp < from.Unix()-1 || got.Timestamp > to.Unix()+1 {
		t.Errorf("info of %s: create time %d outside the upload's [%d, %d]", id, got.Timestamp, from.Unix(), to.Unix())
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// TestNpmFdfsClient: one tracker and one storage as processes; the npm client uploads (a
// buffer without a group: cmd 101; a file streamed, with a group: 104), downloads whole and
// in ranges, reads file info, sets metadata (overwrite and merge) and reads it back, works an
// appender file, runs 16 uploads and then 16 downloads at once, and deletes, after which download, info, metadata and a second delete fail
// with ENOENT. Depot's gRPC client reads what the npm client wrote, so both protocols reach
// the same engine.
func TestNpmFdfsClient(t *testing.T) {
	dir := npmClientDir(t)
	taddr, nodes, all := startNpmCluster(t, 1)
	st := nodes[0]
	fd := startNpm(t, dir, []string{taddr}, all)
	work := t.TempDir()

	small := []byte("hello from the npm fdfs client\n")
	big := randomBytes(1<<20 + 3)
	bigPath := filepath.Join(work, "big.bin")
	if err := os.WriteFile(bigPath, big, 0o644); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	smallID := fd.ok("upload a buffer, no group (101 + 11)", map[string]any{"op": "upload", "b64": small, "ext": "txt"}).FileID
	bigID := fd.ok("upload a file as a stream into group1 (104 + 11)", map[string]any{"op": "upload", "path": bigPath, "group": "group1"}).FileID
	to := time.Now()
	for id, ext := range map[string]string{smallID: ".txt", bigID: ".bin"} {
		fid, err := fileid.Parse(id)
		if err != nil {
			t.Fatalf("the client got file ID %q: %v", id, err)
		}
		if fid.Group() != "group1" || !strings.HasPrefix(id, "group1/M00/") || !strings.HasSuffix(id, ext) || fid.SourceIPv4().String() != st.host {
			t.Errorf("file ID %q: want group1/M00/…%s with source %s", id, ext, st.host)
		}
	}

	// Downloads: whole, a range, and a tail (offset only).
	if got := fd.download(work, smallID, 0, 0); !bytes.Equal(got, small) {
		t.Errorf("download %s: %q, want %q", smallID, got, small)
	}
	if got := fd.download(work, bigID, 0, 0); !bytes.Equal(got, big) {
		t.Errorf("download %s: %d bytes that differ from the %d uploaded", bigID, len(got), len(big))
	}
	if got := fd.download(work, bigID, 1000, 4096); !bytes.Equal(got, big[1000:5096]) {
		t.Errorf("download %s bytes [1000,5096): %d bytes that differ", bigID, len(got))
	}
	if got := fd.download(work, bigID, 1<<20, 0); !bytes.Equal(got, big[1<<20:]) {
		t.Errorf("download %s from offset %d: %x, want %x", bigID, 1<<20, got, big[1<<20:])
	}

	// Depot's own client reads what the npm client wrote.
	cl, err := client.New(client.Config{Trackers: []string{taddr}, DialTimeout: 5 * time.Second, RetryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := cl.Download(ctx, bigID, &buf, 0, 0); err != nil || !bytes.Equal(buf.Bytes(), big) {
		t.Errorf("gRPC download of the natively uploaded %s: %v (%d bytes)", bigID, err, buf.Len())
	}

	// File info.
	checkInfo(t, smallID, fd.ok("info "+smallID, map[string]any{"op": "info", "fileId": smallID}).Info, small, st.host, from, to)
	checkInfo(t, bigID, fd.ok("info "+bigID, map[string]any{"op": "info", "fileId": bigID}).Info, big, st.host, from, to)

	// Metadata: overwrite, merge, overwrite again; gRPC sees the same.
	setMeta := func(m map[string]string, flag string) {
		t.Helper()
		fd.ok(fmt.Sprintf("set metadata %v flag %s", m, flag), map[string]any{"op": "setmeta", "fileId": bigID, "meta": m, "flag": flag})
	}
	checkMeta := func(want map[string]string) {
		t.Helper()
		if got := fd.meta(bigID); !reflect.DeepEqual(got, want) {
			t.Errorf("metadata of %s = %v, want %v", bigID, got, want)
		}
		if got, err := cl.Metadata(ctx, bigID); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("gRPC metadata of %s = %v (%v), want %v", bigID, got, err, want)
		}
	}
	setMeta(map[string]string{"width": "1024", "owner": "npm"}, "O")
	checkMeta(map[string]string{"width": "1024", "owner": "npm"})
	setMeta(map[string]string{"owner": "depot", "color": "red"}, "M")
	checkMeta(map[string]string{"width": "1024", "owner": "depot", "color": "red"})
	setMeta(map[string]string{"only": "this one"}, "O")
	checkMeta(map[string]string{"only": "this one"})

	// An appender file: upload (23), append (24), modify (34).
	apID := fd.ok("upload an appender file (23)", map[string]any{"op": "upload", "b64": []byte("hello "), "ext": "log", "method": "uploadAppender"}).FileID
	fd.ok("append (24)", map[string]any{"op": "upload", "b64": []byte("world"), "method": "append", "fileId": apID})
	fd.ok("modify (34)", map[string]any{"op": "upload", "b64": []byte("J"), "method": "modify", "fileId": apID, "offset": 0})
	if got := fd.download(work, apID, 0, 0); string(got) != "Jello world" {
		t.Errorf("appender %s holds %q, want %q", apID, got, "Jello world")
	}
	if info := fd.ok("info "+apID, map[string]any{"op": "info", "fileId": apID}).Info; info == nil || info.Size != 11 {
		t.Errorf("info of appender %s = %+v, want size 11", apID, info)
	}

	// Many calls at once: 16 uploads in parallel, then 16 downloads in parallel.
	var ups, downs []any
	blobs := make([][]byte, 16)
	for i := range blobs {
		blobs[i] = randomBytes(10<<10 + i*7919)
		ups = append(ups, map[string]any{"op": "upload", "b64": blobs[i], "ext": "par"})
	}
	upAnswers := fd.ok("16 parallel uploads", map[string]any{"op": "parallel", "ops": ups}).Answers
	if len(upAnswers) != len(blobs) {
		t.Fatalf("16 parallel uploads: %d answers", len(upAnswers))
	}
	for i, a := range upAnswers {
		if !a.OK {
			t.Fatalf("parallel upload %d: %s\n%s", i, a, fd.logs())
		}
		downs = append(downs, map[string]any{"op": "download", "fileId": a.FileID, "path": filepath.Join(work, fmt.Sprintf("par%d", i))})
	}
	for i, a := range fd.ok("16 parallel downloads", map[string]any{"op": "parallel", "ops": downs}).Answers {
		got, err := os.ReadFile(filepath.Join(work, fmt.Sprintf("par%d", i)))
		if !a.OK || err != nil || !bytes.Equal(got, blobs[i]) {
			t.Errorf("parallel download %d of %s: %s, %v, %d bytes of %d", i, upAnswers[i].FileID, a, err, len(got), len(blobs[i]))
		}
	}

	// Bad input gets a FastDFS status, not a hang or a dropped connection.
	fd.fails("upload into a group that does not exist (104)", 2, map[string]any{"op": "upload", "b64": []byte("x"), "ext": "txt", "group": "nosuchgroup"})
	if a := fd.call(map[string]any{"op": "download", "fileId": "group1/M00/00/00/not-a-file-name.txt", "path": filepath.Join(work, "nope")}); a.OK || a.Code == nil || (*a.Code != 2 && *a.Code != 22) {
		t.Errorf("download of a malformed file name: %s, want FastDFS status 2 or 22", a)
	}

	// Delete; then everything about the file says ENOENT, and the other file is untouched.
	fd.ok("delete "+smallID, map[string]any{"op": "delete", "fileId": smallID})
	fd.fails("download after delete", 2, map[string]any{"op": "download", "fileId": smallID, "path": filepath.Join(work, "gone")})
	fd.fails("info after delete", 2, map[string]any{"op": "info", "fileId": smallID})
	fd.fails("get metadata after delete", 2, map[string]any{"op": "getmeta", "fileId": smallID})
	fd.fails("second delete", 2, map[string]any{"op": "delete", "fileId": smallID})
	if _, err := cl.Download(ctx, smallID, io.Discard, 0, 0); err == nil {
		t.Errorf("gRPC download of the natively deleted %s succeeded", smallID)
	}
	if got := fd.download(work, bigID, 0, 0); !bytes.Equal(got, big) {
		t.Errorf("download %s after deleting another file: wrong bytes", bigID)
	}
}

// httpGet fetches url and returns status and body.
func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, b
}

// httpBase is a storage's HTTP module address (http.server_port = port+1 in
// startNpmCluster).
func httpBase(t *testing.T, nd *replNode) string {
	host, p, err := net.SplitHostPort(nd.key)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(p)
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port+1))
}

// commonPort returns a port p such that p..p+span-1 are free on every host.
func commonPort(t *testing.T, hosts []string, span int) int {
	t.Helper()
	for range 100 {
		p := freePorts(t, hosts[0], span)
		ok := true
		for _, h := range hosts[1:] {
			for i := range span {
				addr := net.JoinHostPort(h, strconv.Itoa(p+i))
				l, err := net.Listen("tcp", addr)
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return p
		}
	}
	t.Fatalf("no port range free on all of %v", hosts)
	return 0
}

// startNpmCluster starts one tracker and n storages of group1 as processes on 127.0.0.2x,
// laid out like a FastDFS deployment: every storage on the same port and the same HTTP port
// (port+1), so a storage's HTTP module reaches a file's source storage at the source IP and
// its own port, as fastdfs-nginx-module does.
func startNpmCluster(t *testing.T, n int) (string, []*replNode, []*proc) {
	t.Helper()
	trackerBin, storageBin := buildBinaries(t)
	root := t.TempDir()
	th := "127.0.0.21"
	tport := freePorts(t, th, 3)
	taddr := net.JoinHostPort(th, strconv.Itoa(tport))
	tdir := filepath.Join(root, "tracker")
	tconf := filepath.Join(tdir, "tracker.conf")
	writeConf(t, tconf, fmt.Sprintf("bind_addr = %s\nport = %d\nbase_path = %s\nstore_lookup = 0\nstore_server = 0\nreserved_storage_space = 1%%\ncheck_active_interval = 3\n", th, tport, tdir))
	tr := &proc{t: t, name: "tracker " + taddr, bin: trackerBin, conf: tconf, log: filepath.Join(tdir, "out.log")}
	all := []*proc{tr}
	var hosts []string
	for i := range n {
		hosts = append(hosts, fmt.Sprintf("127.0.0.%d", 22+i))
	}
	port := commonPort(t, hosts, 2)
	var nodes []*replNode
	for i, h := range hosts {
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

// TestNpmFdfsTwoStorages: one tracker and two storages of group1, listed by the npm client
// as one group of two active storages. Files uploaded by the npm
// client land on both storages (round robin), are replicated to the other, and are served
// by both storages' HTTP modules; files uploaded over gRPC are downloaded, described and
// their metadata read by the npm client; a native delete removes the file from both
// storages and from HTTP.
func TestNpmFdfsTwoStorages(t *testing.T) {
	dir := npmClientDir(t)
	taddr, nodes, all := startNpmCluster(t, 2)
	fd := startNpm(t, dir, []string{taddr}, all)
	work := t.TempDir()

	// The group as fdfs_monitor-style clients list it (cmd 91).
	_, p, _ := net.SplitHostPort(nodes[0].key)
	port, _ := strconv.ParseInt(p, 10, 64)
	groups := fd.ok("list groups", map[string]any{"op": "listgroups"}).Groups
	if len(groups) != 1 {
		t.Fatalf("list groups: %+v, want group1 alone", groups)
	}
	g := groups[0]
	t.Logf("list groups (91) through the npm client: %+v", g)
	if g.GroupName != "group1" || g.StorageCount != 2 || g.ActiveCount != 2 || g.StoragePort != port || g.StorageHTTPPort != port+1 ||
		g.StorePathCount != 1 || g.SubdirCountPerPath != 4 || g.FreeMB <= 0 || g.TotalMB < g.FreeMB {
		t.Errorf("list groups: %+v; want group1 with 2 storages, both active, on port %d (HTTP %d), 1 store path of 4 subdirs, free ≤ total", g, port, port+1)
	}

	want := map[string][]byte{} // data-relative path → bytes, on every node
	native := map[string][]byte{}
	sources := map[string]int{}
	for i, size := range []int{17, 4096, 200 << 10, 1<<20 + 3} {
		data := randomBytes(size)
		path := filepath.Join(work, fmt.Sprintf("up%d.dat", i))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		id := fd.ok(fmt.Sprintf("upload %d bytes", size), map[string]any{"op": "upload", "path": path}).FileID
		fid, err := fileid.Parse(id)
		if err != nil {
			t.Fatalf("the client got file ID %q: %v", id, err)
		}
		native[id] = data
		want[fid.RelPath()] = data
		sources[fid.SourceIPv4().String()]++
	}
	for _, nd := range nodes {
		if sources[nd.host] == 0 {
			t.Errorf("no native upload went to %s (sources %v); store_server = 0 is round robin", nd.host, sources)
		}
	}
	poll(t, "both storages hold every natively uploaded file", 60*time.Second, func() error {
		for _, nd := range nodes {
			if err := sameFiles(nd, want); err != nil {
				return err
			}
		}
		return nil
	}, all...)
	for _, nd := range nodes {
		base := httpBase(t, nd)
		for id, data := range native {
			if code, body := httpGet(t, base+"/"+id); code != http.StatusOK || !bytes.Equal(body, data) {
				t.Errorf("GET %s/%s: %d with %d bytes, want 200 with the %d uploaded", base, id, code, len(body), len(data))
			}
		}
	}

	// Uploaded over gRPC, read natively, right after the upload (the tracker must send the
	// client to a storage that has the file).
	cl, err := client.New(client.Config{Trackers: []string{taddr}, DialTimeout: 5 * time.Second, RetryTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for i, size := range []int{5, 64 << 10, 1<<20 + 1} {
		data := randomBytes(size)
		from := time.Now()
		id, err := cl.Upload(ctx, bytes.NewReader(data), client.UploadOptions{Size: int64(size), Ext: "grpc"})
		if err != nil {
			t.Fatalf("gRPC upload %d: %v", i, err)
		}
		to := time.Now()
		if got := fd.download(work, id, 0, 0); !bytes.Equal(got, data) {
			t.Errorf("native download of the gRPC-uploaded %s: %d bytes that differ from the %d uploaded", id, len(got), len(data))
		}
		fid, _ := fileid.Parse(id)
		checkInfo(t, id, fd.ok("info "+id, map[string]any{"op": "info", "fileId": id}).Info, data, fid.SourceIPv4().String(), from, to)
		m := map[string]string{"via": "grpc", "n": strconv.Itoa(i)}
		if err := cl.SetMetadata(ctx, id, m, false); err != nil {
			t.Fatalf("gRPC set metadata of %s: %v", id, err)
		}
		if got := fd.meta(id); !reflect.DeepEqual(got, m) {
			t.Errorf("native metadata of the gRPC-uploaded %s = %v, want %v", id, got, m)
		}
		want[fid.RelPath()] = data
	}

	// A native delete of a replicated file: gone from both disks and both HTTP modules.
	var victim string
	for id := range native {
		fid, _ := fileid.Parse(id)
		if fid.SourceIPv4().String() == nodes[1].host {
			victim = id
		}
	}
	if victim == "" {
		t.Fatalf("no native upload has %s as its source", nodes[1].host)
	}
	fd.ok("delete "+victim, map[string]any{"op": "delete", "fileId": victim})
	vf, _ := fileid.Parse(victim)
	delete(want, vf.RelPath())
	poll(t, "both storages hold exactly the live files after the native delete", 60*time.Second, func() error {
		for _, nd := range nodes {
			if err := sameFiles(nd, want); err != nil {
				return err
			}
		}
		return nil
	}, all...)
	for _, nd := range nodes {
		base := httpBase(t, nd)
		if code, _ := httpGet(t, base+"/"+victim); code != http.StatusNotFound {
			t.Errorf("GET %s/%s after the native delete: %d, want 404", base, victim, code)
		}
	}
	fd.fails("native download after the native delete", 2, map[string]any{"op": "download", "fileId": victim, "path": filepath.Join(work, "gone")})
}
