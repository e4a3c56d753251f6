package httpd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

const sendfileChildEnv = "DEPOT_HTTPD_SENDFILE_CHILD_STORE"

// TestSendfile proves that a whole normal file and a trunk slice go out with sendfile(2): it
// re-executes the test binary as a server under strace and looks for sendfile calls. Without
// strace the test is skipped, except under CI (CI set), where that is a failure.
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
	cases := []struct{ name, id string }{
		{"whole normal file", idBin},
		{"trunk slice", idTr3},
		{"range of a trunk slice", idTr1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trace := filepath.Join(t.TempDir(), "strace.out")
			cmd := exec.Command(strace, "-f", "-e", "trace=sendfile", "-o", trace,
				os.Args[0], "-test.run=^TestSendfileChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), sendfileChildEnv+"="+copyFixture(t))
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
			url := "http://" + strings.TrimSpace(addr) + "/" + tc.id
			want := fixtureBytes(t, tc.id)
			var hdr map[string]string
			if tc.id == idTr1 {
				hdr = map[string]string{"Range": "bytes=100-"}
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
			if !bytes.Contains(out, []byte("sendfile(")) {
				t.Fatalf("no sendfile( in strace output:\n%s", out)
			}
			if sent := sendfileBytes(out); sent != int64(len(want)) {
				t.Errorf("sendfile sent %d bytes of %d: the rest was copied by hand\n%s", sent, len(want), out)
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
	cfg := Config{
		Groups:           []Group{{Name: "group1", Store: openStore(t, dir, [4]byte{127, 0, 0, 1}), StorePathCount: 1}},
		URLHaveGroupName: true,
		IsSelf:           isLoopback1,
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	srv.Close()
	h.Close()
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
