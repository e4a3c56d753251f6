package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/httpd"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/token"
)

// reloadFrom loads dir's storage.conf and mod_fastdfs.conf as the command does on SIGHUP and
// hands them to node.Reload.
func reloadFrom(t *testing.T, node *storage.Server, dir string) error {
	t.Helper()
	sc, err := conf.LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := conf.LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return node.Reload(*sc, mod)
}

// TestReload switches a node that misses a file from redirect to proxy and turns its token
// check on, from edited files, without a restart.
func TestReload(t *testing.T) {
	port := sharedPort(t)
	src := startAt(t, "127.0.0.1", port, "redirect")
	dir := t.TempDir()
	other := launch(t, dir, fmt.Sprintf(
		"group_name = group1\nbind_addr = 127.0.0.2\nport = 23000\nbase_path = %s\nsubdir_count_per_path = 2\nhttp.server_port = %d\nreserved_storage_space = 1%%\n",
		dir, port),
		"base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\nresponse_mode = redirect\n",
		func(sc *conf.Storage) { sc.Port = 0 })
	body := bytes.Repeat([]byte("reload "), 1000)
	id, err := dial(t, src).Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "txt", Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + other.HTTPAddr() + "/" + id
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) int {
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(url); code != http.StatusFound {
		t.Fatalf("before the reload: %d, want 302", code)
	}

	writeFile(t, filepath.Join(dir, "mod_fastdfs.conf"), "base_path = "+dir+"\ngroup_name = group1\nurl_have_group_name = true\nresponse_mode = proxy\n"+
		"http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = k\n")
	if err := reloadFrom(t, other, dir); err != nil {
		t.Fatal(err)
	}
	if code := get(url); code != http.StatusBadRequest {
		t.Errorf("after the reload, no token: %d, want 400", code)
	}
	ts := nowUnix()
	signed := fmt.Sprintf("%s?token=%s&ts=%d", url, token.Sign("k", id[len("group1/"):], ts), ts)
	code, _, got := httpGet(t, http.MethodGet, signed)
	if code != http.StatusOK || !bytes.Equal(got, body) {
		t.Fatalf("after the reload, signed: %d, %d bytes; want 200 through the proxy", code, len(got))
	}
	if l := other.HTTPLive(); l.ResponseMode != httpd.Proxy || !l.Token.Check {
		t.Errorf("live settings %+v", l)
	}
}

// TestReloadRefused: settings the HTTP module refuses leave those in force, and the error
// names the files.
func TestReloadRefused(t *testing.T) {
	dir := t.TempDir()
	node := startNode(t, dir, "response_mode = redirect\n")
	sc, err := conf.LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := conf.LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mod.ResponseMode = conf.ResponseProxy
	mod.HTTP.AntiSteal.CheckToken = true // without a secret: conf refuses it too
	err = node.Reload(*sc, mod)
	if !errors.Is(err, httpd.ErrConfig) || !strings.Contains(err.Error(), "mod_fastdfs.conf") {
		t.Fatalf("Reload = %v, want httpd.ErrConfig naming mod_fastdfs.conf", err)
	}
	if l := node.HTTPLive(); l.ResponseMode != httpd.Redirect || l.Token.Check {
		t.Errorf("after a refused reload: %+v, want the old settings", l)
	}
}
