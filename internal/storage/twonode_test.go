package storage_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// startAt runs a node bound to addr with the given HTTP port and response_mode.
func startAt(t *testing.T, addr string, httpPort int, mode string) *storage.Server {
	t.Helper()
	dir := t.TempDir()
	return launch(t, dir, fmt.Sprintf(
		"group_name = group1\nbind_addr = %s\nport = 23000\nbase_path = %s\nsubdir_count_per_path = 2\nhttp.server_port = %d\nreserved_storage_space = 1%%\n",
		addr, dir, httpPort),
		"base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\nresponse_mode = "+mode+"\n",
		func(sc *conf.Storage) { sc.Port = 0 })
}

// sharedPort finds a port free on both 127.0.0.1 and 127.0.0.2: FastDFS's redirect and proxy
// assume every storage serves HTTP on the same port.
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
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return 0
}

// TestTwoNodesRedirectAndProxy uploads to a node on 127.0.0.1 and fetches the file from a node
// on 127.0.0.2 that does not have it, in both response modes.
func TestTwoNodesRedirectAndProxy(t *testing.T) {
	for _, mode := range []string{"redirect", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			port := sharedPort(t)
			src := startAt(t, "127.0.0.1", port, mode)
			other := startAt(t, "127.0.0.2", port, mode)
			c := dial(t, src)
			body := bytes.Repeat([]byte("depot "), 5000)
			id, err := c.Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "txt", Size: int64(len(body))})
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + other.HTTPAddr() + "/" + id + "?filename=a.txt"
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			switch mode {
			case "redirect":
				want := fmt.Sprintf("http://127.0.0.1:%d/%s?filename=a.txt&redirect=1", port, id)
				if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
					t.Fatalf("GET %s: %d Location %q, want 302 %q", url, resp.StatusCode, resp.Header.Get("Location"), want)
				}
			case "proxy":
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: status %d, want 200 through the proxy", url, resp.StatusCode)
				}
			}
			// Followed (redirect) or streamed (proxy), the client gets the source's bytes.
			code, h, got := httpGet(t, http.MethodGet, url)
			if code != http.StatusOK || !bytes.Equal(got, body) || !strings.Contains(h.Get("Content-Disposition"), "a.txt") {
				t.Fatalf("GET %s: status %d, %d bytes, headers %v", url, code, len(got), h)
			}
			// A miss on the source itself is 404, never a loop.
			missing := id[:len(id)-8] + "0000" + id[len(id)-4:]
			if code, _, _ := httpGet(t, http.MethodGet, "http://"+src.HTTPAddr()+"/"+missing); code != http.StatusNotFound {
				t.Fatalf("GET missing file on its own source: status %d, want 404", code)
			}
		})
	}
}
