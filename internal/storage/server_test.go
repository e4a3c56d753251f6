package storage_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// startNode writes a FastDFS-style storage.conf (plus mod_fastdfs.conf) into dir, loads it
// the way cmd/storage does and starts a node on 127.0.0.1 with kernel-chosen ports.
func startNode(t *testing.T, dir, modExtra string) *storage.Server {
	t.Helper()
	storageConf := fmt.Sprintf(`group_name = group1
bind_addr = 127.0.0.1
port = 23000
base_path = %[1]s
store_path0 = %[1]s
subdir_count_per_path = 4
http.server_port = 8888
http.mod_fastdfs_conf = mod_fastdfs.conf
reserved_storage_space = 1%%
`, dir)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n" + modExtra
	return launch(t, dir, storageConf, modConf, func(sc *conf.Storage) {
		sc.Port, sc.HTTP.ServerPort = 0, 0 // kernel-chosen ports: tests run in parallel
	})
}

// launch writes storage.conf and mod_fastdfs.conf into dir, loads them the way cmd/storage
// does, lets tweak adjust the loaded values (ports, timers), and starts the node until the
// test ends.
func launch(t *testing.T, dir, storageConf, modConf string, tweak func(*conf.Storage)) *storage.Server {
	t.Helper()
	confPath := filepath.Join(dir, "storage.conf")
	writeFile(t, confPath, storageConf)
	writeFile(t, filepath.Join(dir, "mod_fastdfs.conf"), modConf)
	sc, err := conf.LoadStorage(confPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(sc)
	}
	mod, err := conf.LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	node, err := storage.New(storage.Config{Storage: *sc, Mod: mod})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, node *storage.Server) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Storage: node.GRPCAddr()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func httpGet(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// TestNodeEndToEnd uploads through the SDK, reads back over gRPC and HTTP, deletes, and
// restarts the node on the same directory to show nothing acknowledged is lost.
func TestNodeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	node := startNode(t, dir, "")
	c := dial(t, node)

	big := make([]byte, 5<<20)
	rand.Read(big)
	contents := map[string][]byte{"empty": {}, "one": {'x'}, "big": big}
	ids := map[string]string{}
	for name, body := range contents {
		id, err := c.Upload(ctx, bytes.NewReader(body), client.UploadOptions{Ext: "bin", Size: int64(len(body))})
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		if !strings.HasPrefix(id, "group1/M00/") {
			t.Fatalf("upload %s: id %q", name, id)
		}
		ids[name] = id
	}
	check := func(node *storage.Server, c *client.Client) {
		t.Helper()
		for name, want := range contents {
			var buf bytes.Buffer
			if _, err := c.Download(ctx, ids[name], &buf, 0, 0); err != nil {
				t.Fatalf("download %s: %v", name, err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("download %s: %d bytes differ from the %d uploaded", name, buf.Len(), len(want))
			}
			code, h, body := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+ids[name])
			if code != http.StatusOK || !bytes.Equal(body, want) {
				t.Fatalf("GET %s: status %d, %d bytes", name, code, len(body))
			}
			if h.Get("Content-Length") != fmt.Sprint(len(want)) || h.Get("Last-Modified") == "" {
				t.Fatalf("GET %s: headers %v", name, h)
			}
			code, _, body = httpGet(t, http.MethodHead, "http://"+node.HTTPAddr()+"/"+ids[name])
			if code != http.StatusOK || len(body) != 0 {
				t.Fatalf("HEAD %s: status %d, body %d bytes", name, code, len(body))
			}
		}
	}
	check(node, c)

	var part bytes.Buffer
	if _, err := c.Download(ctx, ids["big"], &part, 1000, 10); err != nil || !bytes.Equal(part.Bytes(), big[1000:1010]) {
		t.Fatalf("ranged download: %v %x", err, part.Bytes())
	}

	doomed, err := c.Upload(ctx, strings.NewReader("short-lived"), client.UploadOptions{Ext: "txt", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+"/"+doomed); code != http.StatusNotFound {
		t.Fatalf("GET deleted file: status %d, want 404", code)
	}
	if _, err := c.Download(ctx, doomed, io.Discard, 0, 0); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("download deleted file: %v, want ErrNotFound", err)
	}

	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	node2 := startNode(t, dir, "")
	check(node2, dial(t, node2))
}

// TestNodeTokens turns the anti-steal check on through mod_fastdfs.conf and signs with the
// SDK: a signed URL is served, an unsigned one is refused.
func TestNodeTokens(t *testing.T) {
	ctx := t.Context()
	node := startNode(t, t.TempDir(), "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = s3cret\nhttp.anti_steal.token_ttl = 600\n")
	c := dial(t, node)
	id, err := c.Upload(ctx, strings.NewReader("protected"), client.UploadOptions{Ext: "txt", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + node.HTTPAddr()
	if code, _, _ := httpGet(t, http.MethodGet, base+"/"+id); code != http.StatusBadRequest {
		t.Fatalf("unsigned GET: status %d, want 400", code)
	}
	signed := client.SignedURL("s3cret", base, id, nowUnix())
	code, _, body := httpGet(t, http.MethodGet, signed)
	if code != http.StatusOK || string(body) != "protected" {
		t.Fatalf("signed GET %s: status %d body %q", signed, code, body)
	}
	if code, _, _ := httpGet(t, http.MethodGet, client.SignedURL("wrong", base, id, nowUnix())); code != http.StatusBadRequest {
		t.Fatalf("GET with a forged token: status %d, want 400", code)
	}
}

func nowUnix() int64 { return time.Now().Unix() }
