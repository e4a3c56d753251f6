package storage_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/conf"
)

// TestAllowHosts: storage.conf's allow_hosts refuses uploads from a client it does not list
// (nothing stored), a reload that lists it lets the next call in, and a bad line is refused
// with its file:line while the list in force stays.
func TestAllowHosts(t *testing.T) {
	dir := t.TempDir()
	base := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nport = 23000\nbase_path = %s\nsubdir_count_per_path = 2\n"+
		"http.server_port = 8888\nreserved_storage_space = 1%%\n", dir)
	mod := "base_path = " + dir + "\ngroup_name = group1\nurl_have_group_name = true\n"
	node := launch(t, dir, base+"allow_hosts = 10.9.9.[1-3]\n", mod, func(sc *conf.Storage) { sc.Port, sc.HTTP.ServerPort = 0, 0 })
	cli := dial(t, node)
	body := []byte("allow_hosts keeps this out")
	upload := func() (string, error) {
		return cli.Upload(t.Context(), bytes.NewReader(body), client.UploadOptions{Ext: "txt", Size: int64(len(body))})
	}
	if id, err := upload(); err == nil || !strings.Contains(err.Error(), "client 127.0.0.1 not in allow_hosts") {
		t.Fatalf("upload from 127.0.0.1 with allow_hosts 10.9.9.[1-3] = %q, %v; want refused", id, err)
	}
	if n := countFiles(t, filepath.Join(dir, "data")); n != 0 {
		t.Fatalf("a refused upload left %d files in the store", n)
	}

	writeFile(t, filepath.Join(dir, "storage.conf"), base+"allow_hosts = 10.9.9.1\nallow_hosts = 127.0.0.0/8\n")
	if err := reloadFrom(t, node, dir); err != nil {
		t.Fatal(err)
	}
	id, err := upload()
	if err != nil {
		t.Fatalf("upload after allow_hosts 127.0.0.0/8 was reloaded: %v", err)
	}

	writeFile(t, filepath.Join(dir, "storage.conf"), base+"allow_hosts = 10.9.9.1\nallow_hosts = 10.0.0.[1-\n")
	err = reloadFrom(t, node, dir)
	if want := filepath.Join(dir, "storage.conf") + ":9"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("reload of a bad allow_hosts line = %v; want an error naming %s", err, want)
	}
	var got bytes.Buffer
	if _, err := cli.Download(t.Context(), id, &got, 0, 0); err != nil || !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("after a refused reload the list in force must stay: download %v (%d bytes)", err, got.Len())
	}
}

// countFiles counts regular files below dir's 256×256 data folders (XX/YY).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type().IsRegular() && strings.Count(rel, string(filepath.Separator)) == 2 {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
