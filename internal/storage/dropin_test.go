package storage_test

import (
	"crypto/md5"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
	"github.com/depotfs/depot/internal/token"
)

// fixtureFiles are the IDs of testdata/vectors.md with their size and md5.
var fixtureFiles = []struct{ id, md5 string }{
	{"group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", "6f7ae495c0aeca0881eb13ce1f63ce35"},
	{"group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296.txt", "04f3fb1e5242fabaed4f869d7e906ac7"},
	{"group1/M00/00/00/fwAAAWsEB-yAHShKAAAADg4Qul0296_big.txt", "04f3fb1e5242fabaed4f869d7e906ac7"},
	{"group1/M00/00/00/fwAAAWsEB8OAPN9hAAAAZHRo9Dg7154838", "66f1f96207616225d50a72a2dadda054"},
	{"group1/M00/00/00/fwAAAWsECDmIRau_AAAD6IJoTREAAAAAQAAAAAAAAQA295.bin", "06e4995b0dcf3b96804450ec1baf333e"},
	{"group1/M00/00/00/fwAAAWsECDyIadAhAAABLJHhcS0AAAAAQAABAAAAAIA376.bin", "d3e7c8c59d142cb5a95956fbae6c9367"},
	{"group1/M00/00/00/fwAAAWsECDyITazYAAGGoGPXqrEAAAAAQAABgAAAYcA389.jpg", "17d28350294cc98ee0c9bce44cc228a7"},
}

// copyTree copies src into dst with writable permissions (the fixture is read-only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fastdfsConf rewrites one of FastDFS's shipped config files (testdata/fastdfs-conf) for this
// machine: only the keys in set change, every other line stays as FastDFS shipped it.
func fastdfsConf(t *testing.T, name, dstDir string, set map[string]string, drop ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fastdfs-conf", name))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(k) + `\s*=.*$`)
		if !re.Match(b) {
			t.Fatalf("%s has no key %s", name, k)
		}
		b = re.ReplaceAll(b, []byte(k+" = "+v))
	}
	for _, k := range drop {
		b = regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(k)+`\s*=.*\n`).ReplaceAll(b, nil)
	}
	if err := os.WriteFile(filepath.Join(dstDir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFastDFSConfigDropIn runs a node from FastDFS's own storage.conf, mod_fastdfs.conf and
// http.conf, pointed at a copy of a store path FastDFS wrote, and fetches every vector ID by
// URL with and without the group, with the token check on.
func TestFastDFSConfigDropIn(t *testing.T) {
	for _, withGroup := range []bool{false, true} {
		t.Run("url_have_group_name="+strconv.FormatBool(withGroup), func(t *testing.T) {
			store := t.TempDir()
			copyTree(t, filepath.Join("..", "..", "testdata", "fastdfs-store"), store)
			cdir := t.TempDir()
			fastdfsConf(t, "storage.conf", cdir, map[string]string{"base_path": store, "store_path0": store}, "tracker_server")
			fastdfsConf(t, "mod_fastdfs.conf", cdir, map[string]string{
				"base_path": store, "store_path0": store, "load_fdfs_parameters_from_tracker": "false",
				"url_have_group_name": strconv.FormatBool(withGroup),
			})
			fastdfsConf(t, "http.conf", cdir, map[string]string{"http.anti_steal.check_token": "true", "http.anti_steal.token_check_fail": "anti-steal.jpg"})
			writeFile(t, filepath.Join(cdir, "anti-steal.jpg"), "\xff\xd8not-allowed")

			sc, err := conf.LoadStorage(filepath.Join(cdir, "storage.conf"), nil)
			if err != nil {
				t.Fatal(err)
			}
			// Test-only overrides: kernel-chosen ports, and no 65,536-directory fan-out for a
			// fixture that uses data/00/00 alone.
			sc.Port, sc.HTTP.ServerPort, sc.SubdirCountPerPath = 0, 0, 1
			sc.ReservedStorageSpace = conf.Reserved{Percent: 1}
			if sc.HTTP.ModFastDFSConf != filepath.Join(cdir, "mod_fastdfs.conf") {
				t.Fatalf("mod_fastdfs.conf beside storage.conf not found: %q", sc.HTTP.ModFastDFSConf)
			}
			mod, err := conf.LoadMod(sc.HTTP.ModFastDFSConf, nil)
			if err != nil {
				t.Fatal(err)
			}
			sc.BindAddr = "127.0.0.1"
			node, err := storage.New(storage.Config{Storage: *sc, Mod: mod})
			if err != nil {
				t.Fatal(err)
			}
			if err := node.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { node.Close() })

			for _, f := range fixtureFiles {
				path := "/" + f.id[len("group1/"):]
				if withGroup {
					path = "/" + f.id
				}
				if code, _, _ := httpGet(t, http.MethodGet, "http://"+node.HTTPAddr()+path); code != http.StatusBadRequest {
					t.Fatalf("GET %s without a token: status %d, want 400", path, code)
				}
				ts := time.Now().Unix()
				forged := "http://" + node.HTTPAddr() + path + "?token=" + token.Sign("guess", f.id[len("group1/"):], ts) + "&ts=" + strconv.FormatInt(ts, 10)
				if code, h, body := httpGet(t, http.MethodGet, forged); code != http.StatusOK || string(body) != "\xff\xd8not-allowed" || h.Get("Content-Type") != "image/jpeg" {
					t.Fatalf("GET %s with a forged token: status %d type %q body %q, want the token_check_fail file", path, code, h.Get("Content-Type"), body)
				}
				tok := token.Sign("FastDFS1234567890", f.id[len("group1/"):], ts)
				url := "http://" + node.HTTPAddr() + path + "?token=" + tok + "&ts=" + strconv.FormatInt(ts, 10)
				code, h, body := httpGet(t, http.MethodGet, url)
				sum := md5.Sum(body)
				if code != http.StatusOK || hex.EncodeToString(sum[:]) != f.md5 {
					t.Fatalf("GET %s: status %d, md5 %x, want 200 and %s", url, code, sum, f.md5)
				}
				if h.Get("Content-Length") != strconv.Itoa(len(body)) || h.Get("Accept-Ranges") != "bytes" {
					t.Fatalf("GET %s: headers %v", url, h)
				}
			}
		})
	}
}
