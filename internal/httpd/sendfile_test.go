package httpd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/httpd/fastsrv"
)

const sendfileChildEnv = "DEPOT_HTTPD_SENDFILE_CHILD_STORE"

// TestSendfile proves that whole files, trunk slices and single ranges above fastsrv's
// CopyBelow go out with sendfile(2) (every body byte), also when an X-Accel app names the
// file, and that a small file leaves with its header in one write and no sendfile: it
// re-executes the test binary as the storage node's server (fastsrv) under strace and counts
// what the calls sent. Without strace the test is skipped, except under CI (CI set), where
// that is a failure.
func TestSendfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sendfile check is Linux-only")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("strace is required under CI: %v", err)
		}
		t.Skipf("strace not found: %v", err)
	}
	big := bytes.Repeat([]byte("sendfile"), 32<<10) // 256 KiB, above fastsrv's CopyBelow
	cases := []struct {
		name, id string // id "" = the 256 KiB normal file uploaded into the copy
		rng      string
		sendfile bool
		prefix   string // "/dl" = through the child's X-Accel app, which names the file
	}{
		{"whole normal file", "", "", true, ""},
		{"range of a normal file", "", "bytes=100-", true, ""},
		{"trunk slice", idTr3, "", true, ""},
		{"range of a trunk slice", idTr3, "bytes=100-", true, ""},
		{"small file: header and body in one write", idBin, "", false, ""},
		{"small trunk slice (file cache): one write", idTr1, "", false, ""},
		{"x-accel redirect to a normal file", "", "bytes=100-", true, "/dl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t)
			var want []byte
			if tc.id == "" {
				id, err := openStore(t, dir, [4]byte{127, 0, 0, 1}).Upload(context.Background(), bytes.NewReader(big),
					disk.UploadOptions{Ext: "bin", PathIndex: -1, Size: int64(len(big))})
				if err != nil {
					t.Fatal(err)
				}
				tc.id, want = id.String(), big
			} else {
				want = fixtureBytes(t, tc.id)
			}
			trace := filepath.Join(t.TempDir(), "strace.out")
			cmd := exec.Command(strace, "-f", "-e", "trace=sendfile,write,writev,sendto", "-o", trace,
				os.Args[0], "-test.run=^TestSendfileChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), sendfileChildEnv+"="+dir)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatalf("start strace: %v", err)
			}
			addr, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				if os.Getenv("CI") == "" {
					t.Skipf("child server under strace did not start (ptrace not allowed?): %v", err)
				}
				t.Fatalf("child server did not start: %v", err)
			}
			url := "http://" + strings.TrimSpace(addr) + tc.prefix + "/" + tc.id
			var hdr map[string]string
			if tc.rng != "" {
				hdr = map[string]string{"Range": tc.rng}
				want = want[100:]
			}
			resp, body := fetch(t, "GET", url, hdr)
			stdin.Close()
			go io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v", err)
			}
			if resp.StatusCode/100 != 2 || !bytes.Equal(body, want) {
				t.Fatalf("status %d, %d bytes, want %d bytes", resp.StatusCode, len(body), len(want))
			}
			out, err := os.ReadFile(trace)
			if err != nil {
				t.Fatal(err)
			}
			sent := sendfileBytes(out)
			switch {
			case tc.sendfile && sent != int64(len(want)):
				t.Errorf("sendfile sent %d bytes of %d: the rest was copied by hand\n%s", sent, len(want), out)
			case !tc.sendfile && sent != 0:
				t.Errorf("a %d-byte body went out with sendfile, want one write with the header\n%s", len(want), out)
			case !tc.sendfile && headerWrite(out) < int64(len(want)):
				t.Errorf("the header did not leave with the %d-byte body in one call\n%s", len(want), out)
			}
		})
	}
}

// TestSendfileChild is the server half of TestSendfile; it runs only in the child process.
func TestSendfileChild(t *testing.T) {
	dir := os.Getenv(sendfileChildEnv)
	if dir == "" {
		t.Skip("only runs as TestSendfile's child")
	}
	// The X-Accel app names the file after /dl: "/dl/group1/M00/…" → "/group1/M00/…".
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Accel-Redirect", strings.TrimPrefix(r.URL.Path, "/dl"))
	}))
	defer app.Close()
	cfg := Config{
		Groups:           []Group{{Name: "group1", Store: openStore(t, dir, [4]byte{127, 0, 0, 1}), StorePathCount: 1}},
		URLHaveGroupName: true,
		IsSelf:           isLoopback1,
		XAccel:           XAccelConfig{Prefix: "/dl/", Upstream: app.URL},
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := fastsrv.New(fastsrv.Config{Handler: h})
	go srv.Serve(ln)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	srv.Close()
	h.Close()
}

// headerWrite returns the result of the write/sendto call that sent the response header, or -1.
func headerWrite(out []byte) int64 {
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, `"HTTP/1.1 200`) {
			continue
		}
		if i := strings.LastIndex(line, "= "); i >= 0 {
			if n, err := strconv.ParseInt(strings.Fields(line[i+2:])[0], 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// sendfileBytes sums the results of the sendfile calls in strace output.
func sendfileBytes(out []byte) int64 {
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "sendfile(") && !strings.Contains(line, "sendfile resumed>") {
			continue
		}
		i := strings.LastIndex(line, "= ")
		if i < 0 {
			continue
		}
		if n, err := strconv.ParseInt(strings.Fields(line[i+2:])[0], 10, 64); err == nil && n > 0 {
			total += n
		}
	}
	return total
}
