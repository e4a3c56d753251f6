package conf

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// loadErr runs load on name=text in a temp dir and checks the error wraps sentinel and
// names key (and, when line > 0, that line).
func loadErr(t *testing.T, load func(string) error, name, text string, sentinel error, key string, line int) {
	t.Helper()
	dir := writeFiles(t, map[string]string{name: text})
	err := load(filepath.Join(dir, name))
	var ce *Error
	if !errors.Is(err, sentinel) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	if ce.Key != key || ce.Line != line || ce.File == "" {
		t.Errorf("error at %s:%d key %q, want line %d key %q (%v)", ce.File, ce.Line, ce.Key, line, key, err)
	}
}

func TestRequiredKeys(t *testing.T) {
	storage := func(p string) error { _, err := LoadStorage(p, nil); return err }
	tracker := func(p string) error { _, err := LoadTracker(p, nil); return err }
	client := func(p string) error { _, err := LoadClient(p, nil); return err }
	mod := func(p string) error { _, err := LoadMod(p, nil); return err }
	httpc := func(p string) error { _, err := LoadHTTP(p, nil); return err }
	for _, tc := range []struct {
		name, file, text string
		load             func(string) error
		sentinel         error
		key              string
		line             int
	}{
		{"storage base_path", "storage.conf", "group_name = g\n", storage, ErrRequired, "base_path", 0},
		{"storage group without tracker", "storage.conf", "base_path=/a\n", storage, ErrRequired, "group_name", 0},
		{"storage store_path1", "storage.conf", "base_path=/a\ngroup_name=g\nstore_path_count = 2\n", storage, ErrRequired, "store_path1", 0},
		{"storage store_path_count 0", "storage.conf", "base_path=/a\ngroup_name=g\nstore_path_count = 0\n", storage, ErrInvalidValue, "store_path_count", 3},
		{"storage ids file", "storage.conf", "base_path=/a\ngroup_name=g\nuse_storage_id = true\n", storage, ErrRequired, "storage_ids_filename", 0},
		{"storage same ports", "storage.conf", "base_path=/a\ngroup_name=g\nport=8888\n", storage, ErrInvalidValue, "http.server_port", 0},
		{"storage advertise url", "storage.conf", "base_path=/a\ngroup_name=g\nhttp.advertise_url = ftp://x\n", storage, ErrInvalidValue, "http.advertise_url", 4 - 1},
		{"storage log level", "storage.conf", "base_path=/a\ngroup_name=g\nlog_level = loud\n", storage, ErrInvalidValue, "log_level", 3},
		{"tracker base_path", "tracker.conf", "port = 22122\n", tracker, ErrRequired, "base_path", 0},
		{"tracker store_group", "tracker.conf", "base_path=/a\nstore_lookup = 1\n", tracker, ErrRequired, "store_group", 0},
		{"tracker store_lookup", "tracker.conf", "base_path=/a\nstore_lookup = 3\n", tracker, ErrInvalidValue, "store_lookup", 2},
		{"tracker ids file", "tracker.conf", "base_path=/a\nuse_storage_id = yes\n", tracker, ErrRequired, "storage_ids_filename", 0},
		{"tracker id type", "tracker.conf", "base_path=/a\nid_type_in_filename = name\n", tracker, ErrInvalidValue, "id_type_in_filename", 2},
		{"tracker slots", "tracker.conf", "base_path=/a\nslot_min_size = 4K\nslot_max_size = 4K\n", tracker, ErrInvalidValue, "slot_max_size", 3},
		{"client secret", "client.conf", "http.anti_steal.check_token = true\n", client, ErrRequired, "http.anti_steal.secret_key", 0},
		{"client storage_server", "client.conf", "\nstorage_server = 127.0.0.1\n", client, ErrInvalidValue, "storage_server", 2},
		{"client connect_first_by", "client.conf", "connect_first_by = x\n", client, ErrInvalidValue, "connect_first_by", 1},
		{"mod base_path", "mod_fastdfs.conf", "group_name = g\n", mod, ErrRequired, "base_path", 0},
		{"mod group_name", "mod_fastdfs.conf", "base_path = /a\n", mod, ErrRequired, "group_name", 0},
		{"mod multi-group url", "mod_fastdfs.conf", "base_path = /a\ngroup_count = 1\n[group1]\ngroup_name=g\nstore_path0=/s\n", mod, ErrInvalidValue, "url_have_group_name", 0},
		{"mod section store path", "mod_fastdfs.conf", "base_path = /a\nurl_have_group_name=true\ngroup_count = 1\n[group1]\ngroup_name=g\n", mod, ErrRequired, "store_path0", 0},
		{"mod tracker", "mod_fastdfs.conf", "base_path = /a\ngroup_name=g\nload_fdfs_parameters_from_tracker = true\n", mod, ErrRequired, "tracker_server", 0},
		{"mod secret", "mod_fastdfs.conf", "base_path = /a\ngroup_name=g\nhttp.anti_steal.check_token = on\n", mod, ErrRequired, "http.anti_steal.secret_key", 0},
		{"http ttl", "http.conf", "http.anti_steal.token_ttl = 0\n", httpc, ErrInvalidValue, "http.anti_steal.token_ttl", 1},
		{"http max ranges", "http.conf", "http.multi_range.max_ranges = 0\n", httpc, ErrInvalidValue, "http.multi_range.max_ranges", 1},
		{"http check fail missing", "http.conf", "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = k\nhttp.anti_steal.token_check_fail = nope.jpg\n", httpc, os.ErrNotExist, "http.anti_steal.token_check_fail", 3},
		{"http remote mime", "http.conf", "http.mime_types_filename = http://x/mime.types\n", httpc, ErrRemoteInclude, "http.mime_types_filename", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, tc.load, tc.file, tc.text, tc.sentinel, tc.key, tc.line)
		})
	}
}

func TestStorageResolve(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"etc/storage.conf": "base_path = ./data\ngroup_name=g\nstore_path_count = 3\nstore_path1 = /abs\n" +
			"store_path2 = ../disk2\nstore_path2_readonly = true\nhttp.access_log = off\n" +
			"storage_ids_filename = ids.conf\n",
	})
	s, err := LoadStorage(filepath.Join(dir, "etc", "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(dir, "etc")
	want := []StorePath{{Path: filepath.Join(etc, "data")}, {Path: "/abs"}, {Path: filepath.Join(dir, "disk2"), ReadOnly: true}}
	if s.BasePath != filepath.Join(etc, "data") || !reflect.DeepEqual(s.StorePaths, want) {
		t.Errorf("base %q paths %+v", s.BasePath, s.StorePaths)
	}
	if s.HTTP.AccessLog != "" || s.HTTP.ModFastDFSConf != "" || s.StorageIDsFilename != filepath.Join(etc, "ids.conf") {
		t.Errorf("http %+v ids %q", s.HTTP, s.StorageIDsFilename)
	}
}

func TestTrackerNormalize(t *testing.T) {
	log, buf := captureLog()
	dir := writeFiles(t, map[string]string{"tracker.conf": "base_path=/a\nuse_trunk_file = true\n" +
		"trunk_file_size = 1MB\nslot_min_size = 128K\nstore_path = 1\nconnect_timeout = 0\n"})
	tr, err := LoadTracker(filepath.Join(dir, "tracker.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	if tr.TrunkFileSize != 4<<20 || tr.SlotMinSize != 64<<10 || tr.SlotMaxSize != 512<<10 ||
		tr.StoreServer != 1 || tr.StorePath != 0 || tr.ConnectTimeout != 10*time.Second {
		t.Errorf("got %+v", tr)
	}
	for _, w := range []string{"trunk_file_size raised", "slot_min_size capped", "store_path unknown"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, buf)
		}
	}
}

func TestHTTPFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"http.conf": "http.mime_types_filename = types/mime.types\nhttp.anti_steal.check_token = true\n" +
			"http.anti_steal.secret_key = k\nhttp.anti_steal.token_check_fail = fail.jpg\n" +
			"http.anti_steal.refuse_zero_ts = yes\nhttp.anti_steal.refuse_future_ts = 1\nhttp.anti_steal.future_skew = 60\n",
		"types/mime.types": "image/jpeg jpg\nimage/x-test JPG tst\n",
		"fail.jpg":         "x",
	})
	h, err := LoadHTTP(filepath.Join(dir, "http.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]string{"jpg": "image/jpeg", "JPG": "image/x-test", "tst": "image/x-test"}
	if !reflect.DeepEqual(h.MimeTypes, wantTypes) || h.MimeTypesFilename != filepath.Join(dir, "types", "mime.types") {
		t.Errorf("mime %q from %q", h.MimeTypes, h.MimeTypesFilename)
	}
	want := AntiSteal{CheckToken: true, TokenTTL: 600 * time.Second, SecretKey: "k",
		TokenCheckFail: filepath.Join(dir, "fail.jpg"), RefuseZeroTS: true, RefuseFutureTS: true, FutureSkew: time.Minute}
	if h.AntiSteal != want {
		t.Errorf("anti steal %+v, want %+v", h.AntiSteal, want)
	}
}

func TestHTTPDisabled(t *testing.T) {
	dir := writeFiles(t, map[string]string{"http.conf": "http.disabled = true\nhttp.anti_steal.check_token = true\n" +
		"http.mime_types_filename = http://x\n"})
	h, err := LoadHTTP(filepath.Join(dir, "http.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Disabled || len(h.MimeTypes) == 0 {
		t.Errorf("got %+v", h)
	}
}

func TestModMultiGroup(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"mod_fastdfs.conf": "base_path = /base\nurl_have_group_name = true\nresponse_mode = redirect\n" +
			"group_count = 2\nstore_path_count = 5\n#include http.conf\n" +
			"[group1]\ngroup_name = group1\nstorage_server_port = 23000\nstore_path_count = 2\n" +
			"store_path0 = /g1/a\nstore_path1 = rel\nstore_path1_readonly = on\n" +
			"[group2]\ngroup_name = group2\nstorage_server_port = 23001\nstore_path0 = /g2/a\n",
		"http.conf": "http.anti_steal.token_ttl = 60\n",
	})
	m, err := LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ModGroup{
		{GroupName: "group1", StorageServerPort: 23000, StorePaths: []StorePath{{Path: "/g1/a"}, {Path: filepath.Join(dir, "rel"), ReadOnly: true}}},
		{GroupName: "group2", StorageServerPort: 23001, StorePaths: []StorePath{{Path: "/g2/a"}}},
	}
	if !reflect.DeepEqual(m.Groups, want) || m.ResponseMode != ResponseRedirect || m.StorePaths != nil ||
		m.HTTP.AntiSteal.TokenTTL != time.Minute {
		t.Errorf("got %+v", m)
	}
}

func TestModResponseMode(t *testing.T) {
	for v, want := range map[string]ResponseMode{"redirect": ResponseRedirect, "Redirect": ResponseProxy,
		"proxy": ResponseProxy, "anything": ResponseProxy, "": ResponseProxy} {
		t.Run(v, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"mod_fastdfs.conf": "base_path=/a\ngroup_name=g\nresponse_mode = " + v + "\n"})
			m, err := LoadMod(filepath.Join(dir, "mod_fastdfs.conf"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.ResponseMode != want || m.StorePaths[0].Path != "/a" {
				t.Errorf("mode %v paths %+v", m.ResponseMode, m.StorePaths)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "storage.conf", Line: 12, Key: "port", Err: invalid("integer", "abc")}
	if got, want := e.Error(), `storage.conf:12: key "port": invalid integer "abc": invalid value`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	s := DefaultStorage()
	if got, want := s.Validate().Error(), `key "base_path": required key missing`; !strings.HasPrefix(got, want) {
		t.Errorf("Validate() = %q, want prefix %q", got, want)
	}
	e = &Error{File: "storage.conf", Key: "base_path", Err: ErrRequired}
	if got, want := e.Error(), `storage.conf: key "base_path": required key missing`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBadStorePathCountOnlyThatError: a bad store_path_count is the one complaint; the
// store_pathN keys beside it are not also reported as unknown.
func TestBadStorePathCountOnlyThatError(t *testing.T) {
	dir := writeFiles(t, map[string]string{"storage.conf": "base_path=/a\ngroup_name=g\nstore_path_count = 0\nstore_path0 = /data0\nstore_path1_readonly = true\n"})
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	_, err := LoadStorage(filepath.Join(dir, "storage.conf"), log)
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "store_path_count") {
		t.Fatalf("err = %v, want the invalid store_path_count", err)
	}
	if strings.Contains(logs.String(), "unknown key") {
		t.Errorf("a bad store_path_count also logged unknown keys:\n%s", logs.String())
	}
}
