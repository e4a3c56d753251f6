package conf

import (
	"errors"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kv is an entry without its position, for comparisons.
type kv struct{ Section, Key, Value string }

func kvs(d *doc) []kv {
	out := []kv{}
	for _, e := range d.entries {
		out = append(out, kv{e.Section, e.Key, e.Value})
	}
	return out
}

func TestReaderDialect(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []kv
	}{
		{"trim", "  a  =  b  \n", []kv{{"", "a", "b"}}},
		{"inline # is part of the value", "k = v # x\n", []kv{{"", "k", "v # x"}}},
		{"comment lines", "# k = v\n  #k=v\n", []kv{}},
		{"no = ignored", "just words\n[s]\nalso words\n", []kv{}},
		{"empty key ignored", " = v\n", []kv{}},
		{"empty value", "k =\n", []kv{{"", "k", ""}}},
		{"first = splits", "k = a=b\n", []kv{{"", "k", "a=b"}}},
		{"keys are case-sensitive", "Port = 1\nport = 2\n", []kv{{"", "Port", "1"}, {"", "port", "2"}}},
		{"sections and []", "a=1\n[s1]\nb=2\n[ s2 ]\nc=3\n[]\nd=4\n",
			[]kv{{"", "a", "1"}, {"s1", "b", "2"}, {"s2", "c", "3"}, {"", "d", "4"}}},
		{"repeated keys kept in order", "t=1\nt=2\nt=3\n", []kv{{"", "t", "1"}, {"", "t", "2"}, {"", "t", "3"}}},
		{"CRLF", "a = 1\r\nb = 2\r\n", []kv{{"", "a", "1"}, {"", "b", "2"}}},
		{"no final newline", "a = 1", []kv{{"", "a", "1"}}},
		{"#includes is a comment", "#includes = x\n", []kv{}},
		{"quotes kept", "k = \"v\"\nq = `x`\n", []kv{{"", "k", "\"v\""}, {"", "q", "`x`"}}},
		{"semicolon is not a comment", ";k = v\n", []kv{{"", ";k", "v"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseDoc(filepath.Join(t.TempDir(), "x.conf"), []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if got := kvs(d); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReaderLineNumbers(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.conf":    "# c\na = 1\n#include sub/inc.conf\nb = 2\n",
		"sub/inc.conf": "\n\nc = 3\n",
	})
	d, err := readDoc(filepath.Join(dir, "main.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		file string
		line int
	}{{"main.conf", 2}, {"sub/inc.conf", 3}, {"main.conf", 4}}
	for i, w := range want {
		e := d.entries[i]
		if e.File != filepath.Join(dir, w.file) || e.Line != w.line {
			t.Errorf("entry %d at %s:%d, want %s:%d", i, e.File, e.Line, w.file, w.line)
		}
	}
}

func TestReaderInclude(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []kv
		wantErr error
	}{
		{"relative to the including file", map[string]string{
			"main.conf": "#include d/a.conf\n",
			"d/a.conf":  "#include b.conf\nx = a\n",
			"d/b.conf":  "y = b\n",
		}, []kv{{"", "y", "b"}, {"", "x", "a"}}, nil},
		{"upper case and tab", map[string]string{
			"main.conf": "#INCLUDE\tinc.conf\n",
			"inc.conf":  "k = v\n",
		}, []kv{{"", "k", "v"}}, nil},
		{"section resets after include", map[string]string{
			"main.conf": "[s]\na = 1\n#include inc.conf\nb = 2\n",
			"inc.conf":  "c = 3\n[t]\nd = 4\n",
		}, []kv{{"s", "a", "1"}, {"", "c", "3"}, {"t", "d", "4"}, {"", "b", "2"}}, nil},
		{"same file twice is fine", map[string]string{
			"main.conf": "#include inc.conf\n#include inc.conf\n",
			"inc.conf":  "k = v\n",
		}, []kv{{"", "k", "v"}, {"", "k", "v"}}, nil},
		{"cycle", map[string]string{
			"main.conf": "#include a.conf\n",
			"a.conf":    "#include b.conf\n",
			"b.conf":    "#include main.conf\n",
		}, nil, ErrIncludeCycle},
		{"self include", map[string]string{"main.conf": "#include main.conf\n"}, nil, ErrIncludeCycle},
		{"missing file", map[string]string{"main.conf": "#include nope.conf\n"}, nil, ErrInclude},
		{"no file name", map[string]string{"main.conf": "#include   \n"}, nil, ErrInclude},
		{"http refused", map[string]string{"main.conf": "#include http://example.com/http.conf\n"}, nil, ErrRemoteInclude},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			d, err := readDoc(filepath.Join(dir, "main.conf"))
			if tc.wantErr != nil {
				var ce *Error
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &ce) || ce.Line == 0 {
					t.Fatalf("err = %v, want %v with a line", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kvs(d); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReaderIncludeDepth(t *testing.T) {
	files := map[string]string{}
	for i := range 20 {
		files[filepath.Join("d", string(rune('a'+i))+".conf")] = "#include " + string(rune('a'+i+1)) + ".conf\n"
	}
	files["main.conf"] = "#include d/a.conf\n"
	dir := writeFiles(t, files)
	_, err := readDoc(filepath.Join(dir, "main.conf"))
	if !errors.Is(err, ErrInclude) || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("err = %v, want depth error", err)
	}
}

func TestRepeatedKeys(t *testing.T) {
	dir := writeFiles(t, map[string]string{"storage.conf": "base_path = /a\nport = 1000\nport = 2000\n" +
		"tracker_server = 127.0.0.1:22122\ntracker_server =\ntracker_server = 127.0.0.2:22122\n"})
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 2000 {
		t.Errorf("port = %d, want the last occurrence 2000", s.Port)
	}
	if want := []string{"127.0.0.1:22122", "127.0.0.2:22122"}; !reflect.DeepEqual(s.TrackerServers, want) {
		t.Errorf("tracker servers %q, want %q", s.TrackerServers, want)
	}
}

func TestBoolSpellings(t *testing.T) {
	for _, tc := range []struct {
		v        string
		want     bool
		warnings bool
	}{
		{"true", true, false}, {"TRUE", true, false}, {"Yes", true, false}, {"on", true, false},
		{"1", true, false}, {"false", false, false}, {"no", false, false}, {"OFF", false, false},
		{"0", false, false}, {"2", false, true}, {"y", false, true}, {"enabled", false, true},
		{"", true, false}, // empty: default (client_bind defaults to true)
	} {
		t.Run(tc.v, func(t *testing.T) {
			log, buf := captureLog()
			dir := writeFiles(t, map[string]string{"storage.conf": "base_path=/a\ngroup_name=g\nclient_bind = " + tc.v + "\n"})
			s, err := LoadStorage(filepath.Join(dir, "storage.conf"), log)
			if err != nil {
				t.Fatal(err)
			}
			if s.ClientBind != tc.want {
				t.Errorf("client_bind = %q → %v, want %v", tc.v, s.ClientBind, tc.want)
			}
			if got := strings.Contains(buf.String(), "unrecognised boolean"); got != tc.warnings {
				t.Errorf("warning = %v, want %v; log:\n%s", got, tc.warnings, buf)
			}
		})
	}
}

func TestSizesInConf(t *testing.T) {
	dir := writeFiles(t, map[string]string{"tracker.conf": "base_path=/a\nmin_buff_size = 8KB\n" +
		"max_buff_size = 1M\ntrunk_create_file_space_threshold = 2g\nslot_min_size = 512\n"})
	tr, err := LoadTracker(filepath.Join(dir, "tracker.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tr.MinBuffSize != 8<<10 || tr.MaxBuffSize != 1<<20 || tr.TrunkCreateFileSpaceThreshold != 2<<30 || tr.SlotMinSize != 512 {
		t.Errorf("got %d %d %d %d", tr.MinBuffSize, tr.MaxBuffSize, tr.TrunkCreateFileSpaceThreshold, tr.SlotMinSize)
	}
}

func TestBadValueNamesFileLineKey(t *testing.T) {
	for _, tc := range []struct {
		name, text, key string
		line            int
	}{
		{"int", "base_path=/a\n\nport = abc\n", "port", 3},
		{"int with junk", "base_path=/a\nport = 23000x\n", "port", 2},
		{"size", "base_path=/a\nbuff_size = 12Q\n", "buff_size", 2},
		{"duration", "base_path=/a\nheart_beat_interval = -1\n", "heart_beat_interval", 2},
		{"clock", "base_path=/a\nsync_start_time = 25:00\n", "sync_start_time", 2},
		{"reserved", "base_path=/a\nreserved_storage_space = 100%\n", "reserved_storage_space", 2},
		{"tracker", "base_path=/a\ntracker_server = nohost\n", "tracker_server", 2},
		{"validate", "base_path=/a\ngroup_name=g\nsubdir_count_per_path = 300\n", "subdir_count_per_path", 3},
		{"validate port", "base_path=/a\ngroup_name=g\nport = 70000\n", "port", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"storage.conf": tc.text})
			path := filepath.Join(dir, "storage.conf")
			_, err := LoadStorage(path, nil)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ce.File != path || ce.Line != tc.line || ce.Key != tc.key || !errors.Is(err, ErrInvalidValue) {
				t.Errorf("got %s:%d key %q (%v), want %s:%d key %q", ce.File, ce.Line, ce.Key, err, path, tc.line, tc.key)
			}
			want := path + ":" + strconv.Itoa(tc.line) + ": key \"" + tc.key + "\": invalid"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("message %q, want prefix %q", err, want)
			}
		})
	}
}

func TestUnknownKeyWarning(t *testing.T) {
	log, buf := captureLog()
	dir := writeFiles(t, map[string]string{"storage.conf": "base_path=/a\ngroup_name=g\nwork_threads = 4\n" +
		"no_such_key = 1\nno_such_key = 2\n[error-log]\nanything = x\n[other]\nport = 1\n"})
	if _, err := LoadStorage(filepath.Join(dir, "storage.conf"), log); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "unknown key"); n != 2 {
		t.Errorf("%d warnings, want 2 (no_such_key once, [other] port):\n%s", n, out)
	}
	for _, want := range []string{"key=no_such_key", "line=4", "section=other"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "work_threads") || strings.Contains(out, "anything") {
		t.Errorf("ignored FastDFS keys were warned about:\n%s", out)
	}
}

func TestEmptyValueKeepsDefault(t *testing.T) {
	dir := writeFiles(t, map[string]string{"storage.conf": "base_path=/a\ngroup_name=g\nport =\nheart_beat_interval=\n"})
	s, err := LoadStorage(filepath.Join(dir, "storage.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 23000 || s.HeartBeatInterval != 30*time.Second {
		t.Errorf("port %d heart beat %v, want defaults", s.Port, s.HeartBeatInterval)
	}
}
