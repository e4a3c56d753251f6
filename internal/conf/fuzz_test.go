package conf

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// seedFiles adds every fixture and sample file as a seed.
func seedFiles(f *testing.F, add func([]byte)) {
	for _, dir := range []string{fixtures, samples} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				add(data)
			}
		}
	}
}

func FuzzReader(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b, "k", "v") })
	f.Add([]byte("[s]\na = b # c\n[]\n#include x\n"), "tracker_server", "127.0.0.1:22122")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, key, value string) {
		d, err := parseDoc(filepath.Join(dir, "x.conf"), data)
		if err != nil {
			return // only include problems are errors
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range d.entries {
			if e.Key == "" || e.Key != strings.TrimSpace(e.Key) || e.Value != strings.TrimSpace(e.Value) ||
				e.Key[0] == '#' || strings.Contains(e.Key, "=") || e.Line < 1 || e.Line > lines {
				t.Fatalf("bad entry %+v", e)
			}
		}
		// A valid key line appended after `[]` reads back as the last value of the key.
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" || key[0] == '#' || key[0] == '[' || strings.ContainsAny(key, "=\n\r") ||
			strings.ContainsAny(value, "\n\r") || strings.Contains(string(data), "#") {
			return
		}
		text := string(data) + "\n[]\n" + key + " = " + value + "\n"
		d, err = parseDoc(filepath.Join(dir, "x.conf"), []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := d.last("", key); !ok || e.Value != value {
			t.Fatalf("key %q: got %+v %v, want %q", key, e, ok, value)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "8KB", "1M", "2g", "256", "64MB", "-1", "1T", " 3 k ", "9999999999G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if m, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || m != n {
			t.Fatalf("round trip of %d: %d, %v", n, m, err)
		}
	})
}

func FuzzParseReserved(f *testing.F) {
	for _, s := range []string{"20%", "20.00%", "0.5%", "1024MB", "100%", "1e1%", "NaN%", "%", "5G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReserved(s)
		if err != nil {
			return
		}
		if r.Bytes < 0 || r.Percent < 0 || r.Percent >= 100 || (r.Percent > 0 && r.Bytes != 0) {
			t.Fatalf("ParseReserved(%q) = %+v", s, r)
		}
		back, err := ParseReserved(r.String())
		if r.Percent > 0 && r.Percent < 0.005 {
			return // formats as 0.00%, which is not a valid percentage
		}
		if err != nil || back.Bytes != r.Bytes || math.Abs(back.Percent-r.Percent) > 0.005 {
			t.Fatalf("round trip %q → %q → %+v, %v", s, r.String(), back, err)
		}
	})
}

func FuzzStorageIDs(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b) })
	f.Add([]byte("1 g [2001:db8::1,fe80::1]:23000 rw=read\n2 g a,b:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStorageIDs("ids.conf", data)
		if err != nil {
			return
		}
		for _, e := range s.Entries {
			if !validServerID(e.ID) || len(e.Hosts) == 0 || len(e.Hosts) > 2 || e.Port < 0 || e.Port > 65535 {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}

func FuzzMimeTypes(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		for ext, typ := range ParseMimeTypes(data) {
			if ext == "" || typ == "" || strings.ContainsAny(ext, " \t\n#") {
				t.Fatalf("bad pair %q → %q", ext, typ)
			}
		}
	})
}

// FuzzLoaders runs every loader on the same text: no panics, and a successful load
// validates.
func FuzzLoaders(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b) })
	f.Add([]byte("base_path=/a\ngroup_count=2\nurl_have_group_name=1\n[group1]\ngroup_name=g\nstore_path_count=300\n"))
	dir := f.TempDir()
	name := filepath.Join(dir, "x.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := LoadStorage(name, nil); err == nil && s.Validate() != nil {
			t.Fatalf("loaded storage does not validate: %v", s.Validate())
		}
		if tr, err := LoadTracker(name, nil); err == nil && tr.Validate() != nil {
			t.Fatalf("loaded tracker does not validate: %v", tr.Validate())
		}
		if c, err := LoadClient(name, nil); err == nil && c.Validate() != nil {
			t.Fatalf("loaded client does not validate: %v", c.Validate())
		}
		if m, err := LoadMod(name, nil); err == nil && m.Validate() != nil {
			t.Fatalf("loaded mod does not validate: %v", m.Validate())
		}
		if h, err := LoadHTTP(name, nil); err == nil && h.Validate() != nil {
			t.Fatalf("loaded http does not validate: %v", h.Validate())
		}
	})
}
