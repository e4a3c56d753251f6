package conf

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestValuesChanged loads a storage.conf and a mod_fastdfs.conf (with its http.conf), edits
// them and checks that Changed names exactly the keys whose effective value moved: an
// explicit default and a reordered file are no change, an absent key that takes its default
// is.
func TestValuesChanged(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"storage.conf": "group_name = group1\nbase_path = /srv\nport = 23000\nhttp.limit_rate = 1M\ntracker_server = 10.0.0.1:22122\n",
		"mod.conf":     "base_path = /srv\ngroup_name = group1\nresponse_mode = proxy\n#include http.conf\n",
		"http.conf":    "http.anti_steal.check_token = false\nhttp.anti_steal.secret_key = k\n",
	})
	sp, mp := filepath.Join(dir, "storage.conf"), filepath.Join(dir, "mod.conf")
	sc, sv, err := LoadStorageValues(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.HTTP.Controlled.LimitRate != 1<<20 || sv["http.limit_rate"] != "1048576" || sv["port"] != "23000" || sv["stop_timeout"] != "30s" {
		t.Fatalf("values %v", sv)
	}
	_, mv, err := LoadModValues(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mv["http.anti_steal.secret_key"] != "k" || mv["response_mode"] != "proxy" || mv["store_path0"] != "/srv" {
		t.Fatalf("mod values %v", mv)
	}

	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Same meaning, other text: the default written out, keys reordered, a size in bytes.
	write("storage.conf", "tracker_server = 10.0.0.1:22122\nport = 23000\nbase_path = /srv\ngroup_name = group1\nhttp.limit_rate = 1048576\nstop_timeout = 30\n")
	_, sv2, err := LoadStorageValues(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sv2.Changed(sv); got != nil {
		t.Fatalf("same meaning: Changed = %q, want none", got)
	}
	write("storage.conf", "group_name = group1\nbase_path = /srv\nport = 23001\nhttp.limit_rate = 2M\n")
	_, sv3, err := LoadStorageValues(sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sv3.Changed(sv), []string{"http.limit_rate", "port", "tracker_server"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Changed = %q, want %q", got, want)
	}
	write("http.conf", "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = k2\nhttp.anti_steal.token_ttl = 60\n")
	write("mod.conf", "base_path = /srv\ngroup_name = group1\nresponse_mode = redirect\n#include http.conf\n")
	m, mv2, err := LoadModValues(mp, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.HTTP.AntiSteal.TokenTTL != time.Minute || m.ResponseMode != ResponseRedirect {
		t.Fatalf("mod %+v", m)
	}
	want := []string{"http.anti_steal.check_token", "http.anti_steal.secret_key", "http.anti_steal.token_ttl", "response_mode"}
	if got := mv2.Changed(mv); !reflect.DeepEqual(got, want) {
		t.Fatalf("mod Changed = %q, want %q", got, want)
	}
}

// TestValuesSections names a section's keys "[section] key".
func TestValuesSections(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"mod.conf": "base_path = /srv\ngroup_count = 1\nurl_have_group_name = true\n[group1]\ngroup_name = g1\nstore_path0 = /a\n",
	})
	_, v, err := LoadModValues(filepath.Join(dir, "mod.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v["[group1] group_name"] != "g1" || v["[group1] store_path0"] != "/a" {
		t.Fatalf("values %v", v)
	}
}

// TestValuesTracker covers tracker.conf's loader.
func TestValuesTracker(t *testing.T) {
	dir := writeFiles(t, map[string]string{"tracker.conf": "base_path = /srv\nallow_hosts = 10.0.0.1\nallow_hosts = 10.0.0.2\nlog_level = warn\n"})
	_, v, err := LoadTrackerValues(filepath.Join(dir, "tracker.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v["allow_hosts"] != "[10.0.0.1 10.0.0.2]" || v["log_level"] != "warn" {
		t.Fatalf("values %v", v)
	}
}
