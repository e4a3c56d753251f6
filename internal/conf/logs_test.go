package conf

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotfs/depot/internal/logformat"
)

func TestLogKeys(t *testing.T) {
	dir := writeFiles(t, map[string]string{"storage.conf": `base_path = /a
group_name = group1
http.access_log_format = $remote_addr "$request" #$status ${depot_user} $depot_bytes_acked
log_file_rotate_everyday = true
log_file_rotate_time = 03:15
log_file_rotate_on_size = 64M
log_file_keep_days = 30
log_file_compress_old = yes
log_file_compress_days_before = 2
log_file_delete_old_time = 4:05
`})
	logs := newSlogBuf()
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"), logs.log)
	if err != nil {
		t.Fatal(err)
	}
	logs.empty(t) // every key is known
	want := LogRotation{RotateEveryday: true, RotateTime: TimeOfDay{3, 15}, RotateOnSize: 64 << 20, KeepDays: 30,
		CompressOld: true, CompressDaysBefore: 2, DeleteOldTime: TimeOfDay{4, 5}}
	if s.LogFiles != want {
		t.Errorf("got  %+v\nwant %+v", s.LogFiles, want)
	}
	if f := `$remote_addr "$request" #$status ${depot_user} $depot_bytes_acked`; s.HTTP.AccessLogFormat != f {
		t.Errorf("format %q, want %q", s.HTTP.AccessLogFormat, f)
	}

	dir = writeFiles(t, map[string]string{"storage.conf": "base_path = /a\ngroup_name = g\n"})
	if s, err = LoadStorage(filepath.Join(dir, "storage.conf"), nil); err != nil {
		t.Fatal(err)
	}
	if s.LogFiles != DefaultLogRotation() || s.HTTP.AccessLogFormat != "" ||
		s.LogFiles.DeleteOldTime != (TimeOfDay{1, 30}) || s.LogFiles.CompressDaysBefore != 1 {
		t.Errorf("defaults: %+v, format %q", s.LogFiles, s.HTTP.AccessLogFormat)
	}
}

func TestLogKeysInvalid(t *testing.T) {
	storage := func(p string) error { _, err := LoadStorage(p, nil); return err }
	base := "base_path=/a\ngroup_name=g\n"
	for _, tc := range []struct{ name, text, key string }{
		{"unknown variable", "http.access_log_format = $status $nope\n", "http.access_log_format"},
		{"lone dollar", "http.access_log_format = cost $ 5\n", "http.access_log_format"},
		{"rotate time", "log_file_rotate_time = 25:00\n", "log_file_rotate_time"},
		{"delete time", "log_file_delete_old_time = noon\n", "log_file_delete_old_time"},
		{"size", "log_file_rotate_on_size = big\n", "log_file_rotate_on_size"},
		{"keep days", "log_file_keep_days = -1\n", "log_file_keep_days"},
		{"compress days", "log_file_compress_days_before = -2\n", "log_file_compress_days_before"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loadErr(t, storage, "storage.conf", base+tc.text, ErrInvalidValue, tc.key, 3)
		})
	}
	dir := writeFiles(t, map[string]string{"storage.conf": base + "http.access_log_format = $status $nope\n"})
	_, err := LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if !errors.Is(err, logformat.ErrFormat) || !strings.Contains(err.Error(), "storage.conf:3:") || !strings.Contains(err.Error(), "$nope") {
		t.Errorf("error %q: want file:line and the unknown variable", err)
	}
}
