package storagesvc_test

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
	"github.com/depotfs/depot/internal/storagesvc"
	"github.com/depotfs/depot/proto/storagepb"
)

// recJournal records the changes the service journals.
type recJournal struct {
	mu sync.Mutex
	cs []storagesvc.Change
}

func (j *recJournal) Record(c storagesvc.Change) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cs = append(j.cs, c)
	return nil
}

func (j *recJournal) ops() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for _, c := range j.cs {
		b.WriteByte(c.Op)
	}
	return b.String()
}

// nativeEnv is a storage service serving gRPC and FastDFS on one port through a Mux.
type nativeEnv struct {
	addr  string
	dir   string
	svc   *storagesvc.Service
	store *disk.Store
	jr    *recJournal
	grpc  storagepb.StorageServiceClient
}

func startNative(t testing.TB, o fdfsproto.Options) *nativeEnv {
	t.Helper()
	return startNativeWith(t, o, nil)
}

// startNativeWith is startNative with the store's options changed by edit.
func startNativeWith(t testing.TB, o fdfsproto.Options, edit func(*disk.Options)) *nativeEnv {
	t.Helper()
	dir := t.TempDir()
	do := disk.Options{
		Group: "group1", Paths: []disk.PathConfig{{Dir: dir}}, SubdirCount: 2,
		StatFile: filepath.Join(t.TempDir(), "storage_stat.dat"), Source: [4]byte{127, 0, 0, 1},
	}
	if edit != nil {
		edit(&do)
	}
	store, err := disk.Open(do)
	if err != nil {
		t.Fatal(err)
	}
	jr := &recJournal{}
	svc := storagesvc.New(store, storagesvc.Options{Group: "group1", Journal: jr})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.NetworkTimeout == 0 {
		o.NetworkTimeout = 5 * time.Second
	}
	mux := fdfsproto.NewMux(ln, o.NetworkTimeout, nil)
	gs := grpc.NewServer()
	svc.Register(gs)
	ns := fdfsproto.NewServer(svc, o)
	var wg sync.WaitGroup
	wg.Go(func() { gs.Serve(mux.GRPC()) })
	wg.Go(func() { ns.Serve(mux.Native()) })
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		ns.Close()
		gs.Stop()
		mux.Close()
		wg.Wait()
		store.Close()
	})
	return &nativeEnv{addr: ln.Addr().String(), dir: dir, svc: svc, store: store, jr: jr, grpc: storagepb.NewStorageServiceClient(conn)}
}

// files lists the regular files of the store path (the scratch folder included).
func (e *nativeEnv) files(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(e.dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

var remoteName = regexp.MustCompile(`^M00/[0-9A-F]{2}/[0-9A-F]{2}/[A-Za-z0-9_-]{27}[0-9]*\.[a-z]+$`)

// upload sends cmd 11 or 23 and returns the remote name, checking the answer byte by byte:
// header (pkg_len = 16 + name, cmd 100, status 0), group16, name.
func upload(t *testing.T, c *fdfstest.Client, cmd byte, ext string, data []byte) string {
	t.Helper()
	r := c.Call(cmd, 0, []byte{0xFF}, fdfstest.I64(int64(len(data))), fdfstest.Pad(ext, 6), data)
	if r.Status != 0 {
		t.Fatalf("upload (cmd %d): status %d", cmd, r.Status)
	}
	if r.Len != int64(len(r.Body)) || len(r.Body) <= 16 {
		t.Fatalf("upload: answer of %d bytes: %q", r.Len, r.Body)
	}
	if !bytes.Equal(r.Body[:16], fdfstest.Pad("group1", 16)) {
		t.Fatalf("upload: group field %q", r.Body[:16])
	}
	name := string(r.Body[16:])
	if !remoteName.MatchString(name) {
		t.Fatalf("upload: remote name %q", name)
	}
	return name
}

func gn(name string) []byte { return append(fdfstest.Pad("group1", 16), name...) }

func download(t *testing.T, c *fdfstest.Client, name string, off, n int64) fdfstest.Response {
	t.Helper()
	return c.Call(14, 0, fdfstest.I64(off), fdfstest.I64(n), gn(name))
}

func wantStatus(t *testing.T, what string, r fdfstest.Response, st byte) {
	t.Helper()
	want := fdfstest.Frame(100, st)
	if st != 0 || r.Len == 0 {
		if !bytes.Equal(r.Raw[:], want) {
			t.Fatalf("%s: header % x, want % x", what, r.Raw, want)
		}
	}
}

func TestNativeUploadDownloadMetadataInfoDelete(t *testing.T) {
	e := startNative(t, fdfsproto.Options{})
	c := fdfstest.Dial(t, e.addr)
	data := []byte("hello, FastDFS protocol")
	name := upload(t, c, 11, "txt", data)

	// Several commands on one connection.
	r := download(t, c, name, 0, 0)
	if !bytes.Equal(r.Raw[:], fdfstest.Frame(100, 0, data)[:10]) || !bytes.Equal(r.Body, data) {
		t.Fatalf("download whole: % x %q", r.Raw, r.Body)
	}
	if r = download(t, c, name, 7, 7); string(r.Body) != "FastDFS" {
		t.Fatalf("download 7+7: %q", r.Body)
	}
	if r = download(t, c, name, 15, 0); string(r.Body) != "protocol" {
		t.Fatalf("download of the tail: %q", r.Body)
	}
	wantStatus(t, "download past the end", download(t, c, name, 15, 1000), 22)
	wantStatus(t, "download at the end", download(t, c, name, int64(len(data)), 0), 22)

	// The same file through gRPC on the same port.
	st, err := e.grpc.Download(t.Context(), &storagepb.DownloadRequest{FileId: "group1/" + name})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		ch, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ch.GetData()...)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("gRPC download on the shared port: %q", got)
	}

	// Metadata: none yet (ENOENT), overwrite, merge, read back sorted.
	wantStatus(t, "get metadata of a file without", c.Call(15, 0, gn(name)), 2)
	meta := []byte("width\x021024\x01author\x02ann")
	r = c.Call(13, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(int64(len(meta))), []byte("O"), gn(name), meta)
	wantStatus(t, "set metadata O", r, 0)
	merge := []byte("width\x02800\x01height\x02600")
	r = c.Call(13, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(int64(len(merge))), []byte("M"), gn(name), merge)
	wantStatus(t, "set metadata M", r, 0)
	r = c.Call(15, 0, gn(name))
	if want := "author\x02ann\x01height\x02600\x01width\x02800"; string(r.Body) != want || r.Status != 0 {
		t.Fatalf("get metadata: status %d %q, want %q", r.Status, r.Body, want)
	}

	// File info: size8 + create time8 + crc32 8 + source ip 16.
	r = c.Call(22, 0, gn(name))
	if r.Status != 0 || len(r.Body) != 40 {
		t.Fatalf("file info: status %d, %d bytes", r.Status, len(r.Body))
	}
	info, err := e.svc.FileInfo(t.Context(), &storagepb.FileInfoRequest{FileId: "group1/" + name})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append(fdfstest.I64(int64(len(data))), fdfstest.I64(info.GetModTime())...),
		fdfstest.I64(int64(int32(crc32.ChecksumIEEE(data))))...), fdfstest.Pad("127.0.0.1", 16)...)
	if !bytes.Equal(r.Body, want) {
		t.Fatalf("file info body\n% x\nwant\n% x", r.Body, want)
	}

	r = c.Call(12, 0, gn(name))
	wantStatus(t, "delete", r, 0)
	wantStatus(t, "delete again", c.Call(12, 0, gn(name)), 2)
	wantStatus(t, "download deleted", download(t, c, name, 0, 0), 2)
	wantStatus(t, "get metadata of deleted", c.Call(15, 0, gn(name)), 2)
	wantStatus(t, "file info of deleted", c.Call(22, 0, gn(name)), 2)
	if ops := e.jr.ops(); ops != "CUUD" {
		t.Fatalf("journal %q, want CUUD", ops)
	}
	if n := e.svc.Uploads().Stored; n != 1 {
		t.Fatalf("uploads stored %d, want 1", n)
	}
}

func TestNativeAppenderSlaveRegenerate(t *testing.T) {
	e := startNative(t, fdfsproto.Options{})
	c := fdfstest.Dial(t, e.addr)
	name := upload(t, c, 23, "log", []byte("one"))
	two := []byte("-two")
	wantStatus(t, "append", c.Call(24, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(int64(len(two))), []byte(name), two), 0)
	mod := []byte("ONE")
	wantStatus(t, "modify", c.Call(34, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(0), fdfstest.I64(3), []byte(name), mod), 0)
	if r := download(t, c, name, 0, 0); string(r.Body) != "ONE-two" {
		t.Fatalf("after append and modify: %q", r.Body)
	}
	wantStatus(t, "truncate", c.Call(36, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(5), []byte(name)), 0)
	if r := download(t, c, name, 0, 0); string(r.Body) != "ONE-t" {
		t.Fatalf("after truncate: %q", r.Body)
	}
	// The crc32 of an appender is computed; flag 1 skips it.
	r := c.Call(22, 0, gn(name))
	if got := fdfsproto.Int64(r.Body[16:]); got != int64(int32(crc32.ChecksumIEEE([]byte("ONE-t")))) {
		t.Fatalf("appender crc32 %x", got)
	}
	if r = c.Call(22, 1, gn(name)); fdfsproto.Int64(r.Body[16:]) != 0 {
		t.Fatalf("appender crc32 with flag 1: %x, want 0", fdfsproto.Int64(r.Body[16:]))
	}

	// Slave of a normal master.
	master := upload(t, c, 11, "jpg", []byte("master"))
	sl := []byte("thumb")
	r = c.Call(21, 0, fdfstest.I64(int64(len(master))), fdfstest.I64(int64(len(sl))), fdfstest.Pad("_150x150", 16), fdfstest.Pad("jpg", 6), []byte(master), sl)
	if r.Status != 0 {
		t.Fatalf("upload slave: status %d", r.Status)
	}
	slave := string(r.Body[16:])
	if want := strings.TrimSuffix(master, ".jpg") + "_150x150.jpg"; slave != want {
		t.Fatalf("slave name %q, want %q", slave, want)
	}
	if r := download(t, c, slave, 0, 0); string(r.Body) != "thumb" {
		t.Fatalf("slave content %q", r.Body)
	}
	r = c.Call(21, 0, fdfstest.I64(int64(len(master))), fdfstest.I64(int64(len(sl))), fdfstest.Pad("_150x150", 16), fdfstest.Pad("jpg", 6), []byte(master), sl)
	wantStatus(t, "the same slave again", r, 17)

	// Regenerate: the appender gets a normal file's name; the old one is gone.
	r = c.Call(38, 0, []byte(name))
	if r.Status != 0 || !bytes.Equal(r.Body[:16], fdfstest.Pad("group1", 16)) {
		t.Fatalf("regenerate: status %d %q", r.Status, r.Body)
	}
	renamed := string(r.Body[16:])
	if !remoteName.MatchString(renamed) || renamed == name {
		t.Fatalf("regenerated name %q (was %q)", renamed, name)
	}
	if r := download(t, c, renamed, 0, 0); string(r.Body) != "ONE-t" {
		t.Fatalf("regenerated content %q", r.Body)
	}
	wantStatus(t, "old appender name", download(t, c, name, 0, 0), 2)
	wantStatus(t, "append to a normal file", c.Call(24, 0, fdfstest.I64(int64(len(renamed))), fdfstest.I64(1), []byte(renamed), []byte("x")), 22)
	if ops := e.jr.ops(); ops != "CAMTCCR" {
		t.Fatalf("journal %q, want CAMTCCR", ops)
	}
}

func TestNativeErrorStatuses(t *testing.T) {
	e := startNative(t, fdfsproto.Options{})
	c := fdfstest.Dial(t, e.addr)
	name := upload(t, c, 11, "bin", []byte("x"))
	other := append(fdfstest.Pad("group2", 16), name...)
	// The same name with the last character before ".bin" changed: a well-formed ID of no file.
	last := name[len(name)-5]
	swap := byte('1')
	if last == swap {
		swap = '2'
	}
	missing := name[:len(name)-5] + string(swap) + ".bin"
	for _, tc := range []struct {
		what   string
		cmd    byte
		body   [][]byte
		status byte
	}{
		{"unknown command", 99, nil, 38},
		{"active test", 111, nil, 0},
		{"create link (not served)", 20, nil, 38},
		{"another group", 12, [][]byte{other}, 22},
		{"malformed name", 15, [][]byte{gn("M00/zz")}, 22},
		{"no name", 12, [][]byte{fdfstest.Pad("group1", 16)}, 22},
		{"missing file", 22, [][]byte{gn(missing)}, 2},
		{"upload size mismatch", 11, [][]byte{{0xFF}, fdfstest.I64(5), fdfstest.Pad("txt", 6), []byte("abc")}, 22},
		{"bad extension", 11, [][]byte{{0xFF}, fdfstest.I64(1), []byte("a/b\x00\x00\x00"), []byte("z")}, 22},
		{"store path out of range", 11, [][]byte{{7}, fdfstest.I64(1), fdfstest.Pad("txt", 6), []byte("z")}, 22},
		{"metadata flag", 13, [][]byte{fdfstest.I64(int64(len(name))), fdfstest.I64(0), []byte("X"), gn(name)}, 22},
		{"metadata lengths", 13, [][]byte{fdfstest.I64(99), fdfstest.I64(0), []byte("O"), gn(name)}, 22},
		{"append to normal", 24, [][]byte{fdfstest.I64(int64(len(name))), fdfstest.I64(1), []byte(name), []byte("z")}, 22},
		{"truncate normal", 36, [][]byte{fdfstest.I64(int64(len(name))), fdfstest.I64(0), []byte(name)}, 22},
		{"regenerate normal", 38, [][]byte{[]byte(name)}, 22},
		{"download negative offset", 14, [][]byte{fdfstest.I64(-1), fdfstest.I64(0), gn(name)}, 22},
		{"slave of missing master", 21, [][]byte{fdfstest.I64(5), fdfstest.I64(1), fdfstest.Pad("_s", 16), fdfstest.Pad("", 6), []byte("M00/x"), []byte("z")}, 22},
	} {
		r := c.Call(tc.cmd, 0, tc.body...)
		if !bytes.Equal(r.Raw[:], fdfstest.Frame(100, tc.status)) {
			t.Errorf("%s: header % x, want % x", tc.what, r.Raw, fdfstest.Frame(100, tc.status))
		}
	}
	// The connection survived every refusal.
	if r := download(t, c, name, 0, 0); string(r.Body) != "x" {
		t.Fatalf("after the errors: %q", r.Body)
	}
	// A small command declaring a huge body: EINVAL, then the connection closes.
	c2 := fdfstest.Dial(t, e.addr)
	c2.Send(append(fdfstest.I64(1<<40), 12, 0))
	r := c2.Recv()
	if !bytes.Equal(r.Raw[:], fdfstest.Frame(100, 22)) {
		t.Fatalf("huge delete body: % x", r.Raw)
	}
	c2.ExpectClosed(5 * time.Second)
	// Quit closes.
	c3 := fdfstest.Dial(t, e.addr)
	c3.Send(fdfstest.Frame(82, 0))
	c3.ExpectClosed(5 * time.Second)
	if got := e.files(t); len(got) != 1 {
		t.Fatalf("files left: %v", got)
	}
}

// A client that declares more than it sends: the wait is network_timeout, then the
// connection closes and nothing of the file stays. A client that vanishes mid-body: the
// same at once.
func TestNativeTruncatedUploadLeavesNothing(t *testing.T) {
	e := startNative(t, fdfsproto.Options{NetworkTimeout: 300 * time.Millisecond})
	c := fdfstest.Dial(t, e.addr)
	head := append(append(fdfstest.I64(15+1<<20), 11, 0, 0xFF), fdfstest.I64(1<<20)...)
	c.Send(append(append(head, fdfstest.Pad("bin", 6)...), bytes.Repeat([]byte("a"), 1000)...))
	start := time.Now()
	if got := c.ExpectClosed(5 * time.Second); len(got) != 0 {
		t.Fatalf("answer to a stalled upload: % x", got)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before network_timeout", d)
	}
	c2 := fdfstest.Dial(t, e.addr)
	head[8] = 23
	c2.Send(append(append(head, fdfstest.Pad("bin", 6)...), bytes.Repeat([]byte("b"), 70000)...))
	c2.Conn.Close()
	waitFor(t, func() bool { return e.svc.Uploads().Failed == 2 })
	if got := e.files(t); len(got) != 0 {
		t.Fatalf("files left after cut uploads: %v", got)
	}
	if ops := e.jr.ops(); ops != "" {
		t.Fatalf("journal %q after failed uploads", ops)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A peer that sends nothing, or half a header, is closed after network_timeout.
func TestNativeSilentPeerClosed(t *testing.T) {
	e := startNative(t, fdfsproto.Options{NetworkTimeout: 200 * time.Millisecond})
	for _, pre := range [][]byte{nil, {0, 0, 0}} {
		c := fdfstest.Dial(t, e.addr)
		if len(pre) > 0 {
			c.Send(pre)
		}
		start := time.Now()
		c.ExpectClosed(5 * time.Second)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("closed after %v", d)
		}
	}
	// Not a FastDFS header (an HTTP/1 request): closed at once.
	c := fdfstest.Dial(t, e.addr)
	c.Send([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	c.ExpectClosed(5 * time.Second)
}

func TestNativeMaxConnections(t *testing.T) {
	e := startNative(t, fdfsproto.Options{MaxConnections: 2})
	a, b := fdfstest.Dial(t, e.addr), fdfstest.Dial(t, e.addr)
	wantStatus(t, "a", a.Call(111, 0), 0)
	wantStatus(t, "b", b.Call(111, 0), 0)
	c := fdfstest.Dial(t, e.addr)
	c.Send(fdfstest.Frame(111, 0))
	c.ExpectClosed(5 * time.Second)
	a.Send(fdfstest.Frame(82, 0))
	a.ExpectClosed(5 * time.Second)
	waitFor(t, func() bool {
		d, err := net.Dial("tcp", e.addr)
		if err != nil {
			return false
		}
		defer d.Close()
		d.Write(fdfstest.Frame(111, 0))
		d.SetReadDeadline(time.Now().Add(time.Second))
		var h [10]byte
		_, err = io.ReadFull(d, h[:])
		return err == nil
	})
}

// Many clients at once, each several commands on one connection, gRPC alongside.
func TestNativeManyClientsBesideGRPC(t *testing.T) {
	e := startNative(t, fdfsproto.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 16 {
		wg.Go(func() {
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			for j := range 5 {
				data := bytes.Repeat([]byte{byte(i), byte(j)}, 5000*(j+1))
				c.Write(fdfstest.Frame(11, 0, []byte{0xFF}, fdfstest.I64(int64(len(data))), fdfstest.Pad("dat", 6), data))
				var h [10]byte
				if _, err := io.ReadFull(c, h[:]); err != nil || h[9] != 0 {
					errs <- "upload answer"
					return
				}
				body := make([]byte, fdfsproto.Int64(h[:]))
				io.ReadFull(c, body)
				c.Write(fdfstest.Frame(14, 0, fdfstest.I64(0), fdfstest.I64(0), body))
				io.ReadFull(c, h[:])
				got := make([]byte, fdfsproto.Int64(h[:]))
				io.ReadFull(c, got)
				if !bytes.Equal(got, data) {
					errs <- "download differs"
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := e.grpc.FileInfo(ctx, &storagepb.FileInfoRequest{FileId: "group1/M00/00/00/x.txt"}); err == nil {
					errs <- "gRPC file info of a bad id succeeded"
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := e.svc.Uploads().Stored; n != 80 {
		t.Fatalf("stored %d, want 80", n)
	}
}

// A crc32 of 2^31 or more goes out sign-extended, as FastDFS sends it.
func TestNativeFileInfoCRCSignExtended(t *testing.T) {
	e := startNative(t, fdfsproto.Options{})
	c := fdfstest.Dial(t, e.addr)
	data := []byte("crc-0")
	for i := 0; crc32.ChecksumIEEE(data) < 1<<31; i++ {
		data = []byte("crc-" + strings.Repeat("x", i))
	}
	name := upload(t, c, 11, "bin", data)
	r := c.Call(22, 0, gn(name))
	want := append([]byte{0xFF, 0xFF, 0xFF, 0xFF}, fdfstest.I64(int64(crc32.ChecksumIEEE(data)))[4:]...)
	if !bytes.Equal(r.Body[16:24], want) {
		t.Fatalf("crc32 field % x, want % x", r.Body[16:24], want)
	}
}

// The statuses of a full disk and of a read-only store path.
func TestNativeNoSpaceAndReadOnly(t *testing.T) {
	full := startNativeWith(t, fdfsproto.Options{}, func(o *disk.Options) {
		o.Reserved = disk.Reserved{Bytes: 100}
		o.Statfs = func(string) (uint64, uint64, error) { return 1000, 10, nil }
	})
	c := fdfstest.Dial(t, full.addr)
	r := c.Call(11, 0, []byte{0xFF}, fdfstest.I64(1), fdfstest.Pad("txt", 6), []byte("z"))
	wantStatus(t, "upload to a full disk", r, 28)

	ro := startNativeWith(t, fdfsproto.Options{}, func(o *disk.Options) {
		o.Paths = append(o.Paths, disk.PathConfig{Dir: t.TempDir(), ReadOnly: true})
	})
	c = fdfstest.Dial(t, ro.addr)
	// A read-only path named by the tracker: the storage chooses another, as FastDFS's does.
	r = c.Call(11, 0, []byte{1}, fdfstest.I64(1), fdfstest.Pad("txt", 6), []byte("z"))
	if r.Status != 0 || !strings.HasPrefix(string(r.Body[16:]), "M00/") {
		t.Fatalf("upload naming a read-only path: status %d %q", r.Status, r.Body)
	}
	name := upload(t, c, 11, "txt", []byte("z"))
	onRO := "M01" + name[3:]
	wantStatus(t, "delete on a read-only path", c.Call(12, 0, gn(onRO)), 13)
}
