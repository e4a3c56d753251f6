package storage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
)

// TestNodeControlledDownloads sets http.auth_request.url and http.x_accel.* in storage.conf:
// the node asks the auth service and refuses with its 403, and serves the file an X-Accel app
// names under the prefix.
func TestNodeControlledDownloads(t *testing.T) {
	var asks atomic.Int64
	var askedURI atomic.Value
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asks.Add(1)
		askedURI.Store(r.Header.Get("X-Original-URI"))
		w.WriteHeader(http.StatusForbidden)
	}))
	t.Cleanup(auth.Close)
	var fileID atomic.Value
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Accel-Redirect", "/"+fileID.Load().(string))
		w.Header().Set("Content-Disposition", `attachment; filename="secret.txt"`)
	}))
	t.Cleanup(app.Close)

	dir := t.TempDir()
	storageConf := fmt.Sprintf(`group_name = group1
bind_addr = 127.0.0.1
port = 23000
base_path = %[1]s
store_path0 = %[1]s
subdir_count_per_path = 4
http.server_port = 8888
http.mod_fastdfs_conf = mod_fastdfs.conf
reserved_storage_space = 1%%
http.auth_request.url = %[2]s/check
http.auth_request.timeout = 2
http.x_accel.prefix = /dl/
http.x_accel.upstream = %[3]s
`, dir, auth.URL, app.URL)
	modConf := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\nstore_path0 = " + dir + "\n"
	node := launch(t, dir, storageConf, modConf, func(sc *conf.Storage) {
		sc.Port, sc.HTTP.ServerPort = 0, 0
	})
	id, err := dial(t, node).Upload(t.Context(), strings.NewReader("top secret bytes"), client.UploadOptions{Ext: "txt", Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	fileID.Store(id)
	base := "http://" + node.HTTPAddr()

	code, _, body := httpGet(t, http.MethodGet, base+"/"+id)
	if code != http.StatusForbidden || strings.Contains(string(body), "top secret") {
		t.Fatalf("GET with the auth service refusing: status %d body %q, want 403 without the file", code, body)
	}
	if asks.Load() != 1 || askedURI.Load() != "/"+id {
		t.Fatalf("auth service asked %d times, last X-Original-URI %v", asks.Load(), askedURI.Load())
	}

	code, hd, body := httpGet(t, http.MethodGet, base+"/dl/anything")
	if code != http.StatusOK || string(body) != "top secret bytes" || hd.Get("Content-Disposition") != `attachment; filename="secret.txt"` {
		t.Fatalf("GET through the X-Accel app: status %d body %q headers %v", code, body, hd)
	}
	if asks.Load() != 1 {
		t.Fatalf("the auth service was asked for the app's path (%d asks)", asks.Load())
	}
}
