package conf

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const samples = "../../conf"

// TestSamples loads every shipped sample file: each must load with no warnings and describe
// one standalone node on loopback.
func TestSamples(t *testing.T) {
	entries, err := os.ReadDir(samples)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(samples)
	if err != nil {
		t.Fatal(err)
	}
	loaders := map[string]func(string, *testing.T, func() *slogBuf){
		"storage.conf": func(p string, t *testing.T, nl func() *slogBuf) {
			b := nl()
			s, err := LoadStorage(p, b.log)
			if err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(abs, "depot-data")
			if s.BindAddr != "127.0.0.1" || s.Port != 23000 || s.HTTP.ServerPort != 8888 ||
				s.BasePath != data || s.StorePaths[0].Path != data || len(s.TrackerServers) != 0 ||
				s.HTTP.ModFastDFSConf != filepath.Join(abs, "mod_fastdfs.conf") ||
				s.HTTP.AccessLog != filepath.Join(data, "logs", "access.log") || s.SyncWait != 50*time.Millisecond {
				t.Errorf("got %+v", s)
			}
			b.empty(t)
		},
		"tracker.conf": func(p string, t *testing.T, nl func() *slogBuf) {
			b := nl()
			if _, err := LoadTracker(p, b.log); err != nil {
				t.Fatal(err)
			}
			b.empty(t)
		},
		"client.conf": func(p string, t *testing.T, nl func() *slogBuf) {
			b := nl()
			c, err := LoadClient(p, b.log)
			if err != nil {
				t.Fatal(err)
			}
			if c.StorageServer != "127.0.0.1:23000" || len(c.TrackerServers) != 0 {
				t.Errorf("got %+v", c)
			}
			b.empty(t)
		},
		"mod_fastdfs.conf": func(p string, t *testing.T, nl func() *slogBuf) {
			b := nl()
			m, err := LoadMod(p, b.log)
			if err != nil {
				t.Fatal(err)
			}
			if m.HTTP.MimeTypesFilename != filepath.Join(abs, "mime.types") || !m.URLHaveGroupName ||
				m.HTTP.MultiRangeMaxRanges != 16 || m.GroupName != "group1" {
				t.Errorf("got %+v", m)
			}
			b.empty(t)
		},
		"http.conf": func(p string, t *testing.T, nl func() *slogBuf) {
			b := nl()
			if _, err := LoadHTTP(p, b.log); err != nil {
				t.Fatal(err)
			}
			b.empty(t)
		},
		"storage_ids.conf": func(p string, t *testing.T, _ func() *slogBuf) {
			ids, err := LoadStorageIDs(p)
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := ids.ByID("100001"); !ok || e.Hosts[0] != "127.0.0.1" {
				t.Errorf("got %+v", ids)
			}
		},
		"mime.types": func(p string, t *testing.T, _ func() *slogBuf) {
			m, err := LoadMimeTypes(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, BuiltinMimeTypes()) {
				t.Error("conf/mime.types differs from the built-in table (internal/conf/mime.types)")
			}
			for ext, typ := range map[string]string{"jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4",
				"flv": "video/x-flv", "pdf": "application/pdf", "html": "text/html", "json": "application/json"} {
				if m[ext] != typ {
					t.Errorf("%s → %q, want %q", ext, m[ext], typ)
				}
			}
		},
	}
	seen := 0
	for _, e := range entries {
		load, ok := loaders[e.Name()]
		if !ok {
			t.Errorf("conf/%s has no loader test", e.Name())
			continue
		}
		seen++
		t.Run(e.Name(), func(t *testing.T) {
			load(filepath.Join(samples, e.Name()), t, newSlogBuf)
		})
	}
	if seen != len(loaders) {
		t.Errorf("found %d of %d sample files", seen, len(loaders))
	}
	// The embedded table is byte-for-byte the shipped file.
	shipped, err := os.ReadFile(filepath.Join(samples, "mime.types"))
	if err != nil || string(shipped) != builtinMimeTypes {
		t.Errorf("conf/mime.types and internal/conf/mime.types differ (%v)", err)
	}
}
