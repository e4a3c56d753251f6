package stats

import (
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

func openStore(t *testing.T) *meta.StatsStore {
	t.Helper()
	s, err := meta.OpenStats(filepath.Join(t.TempDir(), "stats.db"), meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBeaconKeys(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
		bad   bool
	}{
		{[]string{"h5", "pv", "85", "41"}, "[h5 h5.pv h5.pv.85 h5.pv.85.41]", false},
		{[]string{"h5", "pv", "", ""}, "[h5 h5.pv]", false},
		{[]string{"h5", "", "", ""}, "[h5]", false},
		{[]string{"", "", "", ""}, "", true},
		{[]string{"h5", "", "85", ""}, "", true},  // a gap
		{[]string{"h5", "p.v", "", ""}, "", true}, // a dot would fake a level
		{[]string{"h5", "pv<", "", ""}, "", true}, // bad character
		{[]string{strings.Repeat("a", MaxPart+1)}, "", true},
		{[]string{"A-b_9"}, "[A-b_9]", false},
	} {
		keys, err := BeaconKeys(tc.parts...)
		if tc.bad {
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("BeaconKeys(%q) = %v, %v; want ErrBadKey", tc.parts, keys, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(keys) != tc.want {
			t.Errorf("BeaconKeys(%q) = %v, %v; want %s", tc.parts, keys, err, tc.want)
		}
	}
}

// clock is a settable time for the Recorder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestRecorderDays(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2021, 3, 21, 23, 59, 59, 0, time.UTC)}
	r, err := New(Config{Store: st, Now: clk.now, Location: time.UTC, MaxKeysPerDay: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	keys, _ := BeaconKeys("h5", "pv", "85")
	r.Beacon(keys)
	clk.set(clk.now().Add(2 * time.Second)) // the next day
	r.Beacon(keys)
	r.Beacon(keys)
	r.Add("other", "pv", 1) // a fourth key on 2021-03-22: over the bound
	rows, err := r.Query("2021-03-21", "2021-03-22", "h5.pv.85")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows); got != "[{2021-03-21 h5.pv.85 map[pv:1]} {2021-03-22 h5.pv.85 map[pv:2]}]" {
		t.Errorf("rows = %s", got)
	}
	if r.Dropped() != 1 {
		t.Errorf("dropped = %d, want 1 (MaxKeysPerDay 3)", r.Dropped())
	}
}

// nginxLog is a combined-format log of 2021-03-11 as nginx writes it, with a beacon, whole and
// partial downloads, a signed URL with a user, junk and a line of another day.
const nginxLog = `10.0.0.1 - - [11/Mar/2021:08:00:01 +0800] "GET /event.png?category=h5&action=pv&label=85&value=41 HTTP/1.1" 200 67 "https://app.example.com/" "Mozilla/5.0"
10.0.0.2 - - [11/Mar/2021:08:00:02 +0800] "GET /event.png?category=h5&action=pv&label=85&value=42 HTTP/1.1" 200 67 "-" "Mozilla/5.0"
10.0.0.3 - - [11/Mar/2021:09:00:00 +0800] "GET /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin HTTP/1.1" 200 4096 "-" "curl/8.0"
10.0.0.3 - - [11/Mar/2021:09:00:01 +0800] "GET /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin HTTP/1.1" 206 100 "-" "curl/8.0"
10.0.0.4 - - [11/Mar/2021:09:00:02 +0800] "GET /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin?expires=1&user=alice&sig=x HTTP/1.1" 200 4096 "-" "curl/8.0" 0.002
10.0.0.5 - - [11/Mar/2021:09:00:03 +0800] "GET /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin HTTP/1.1" 404 0 "-" "curl/8.0"
10.0.0.5 - - [11/Mar/2021:09:00:04 +0800] "HEAD /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin HTTP/1.1" 200 0 "-" "curl/8.0"
this is not a log line
10.0.0.6 - - [11/Mar/2021:09:00:05 +0800] "-" 400 0 "-" "-"
10.0.0.1 - - [12/Mar/2021:00:00:01 +0800] "GET /event.png?category=h5&action=pv HTTP/1.1" 200 67 "-" "Mozilla/5.0"
`

func TestImportNginxLog(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	st := openStore(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "access.log")
	os.WriteFile(plain, []byte(nginxLog), 0o644)
	res, err := Import(st, plain, ImportOptions{Location: loc, MaxPending: 2}) // many small writes
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 10 || res.Bad != 1 || res.Counted != 6 || res.Skipped {
		t.Errorf("result %+v", res)
	}
	want := map[string]string{
		"h5":          "map[pv:2]",
		"h5.pv.85.41": "map[pv:1]",
		"download":    "map[bytes:8292 completed:2 requests:3]",
		"download.group1.M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin": "map[bytes:8292 completed:2 requests:3]",
		"user.alice": "map[bytes:4096 completed:1 requests:1]",
	}
	check := func(when string) {
		t.Helper()
		rows, err := st.Query("2021-03-11", "2021-03-11", "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rows {
			got[r.Key] = fmt.Sprint(r.Data)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %s, want %s", when, k, got[k], v)
			}
		}
		next, _ := st.Query("2021-03-12", "2021-03-12", "h5")
		if fmt.Sprint(next) != "[{2021-03-12 h5 map[pv:1]} {2021-03-12 h5.pv map[pv:1]}]" {
			t.Errorf("%s: next day %v", when, next)
		}
	}
	check("first import")
	again, err := Import(st, plain, ImportOptions{Location: loc})
	if err != nil || !again.Skipped {
		t.Fatalf("second import: %+v, %v; want skipped", again, err)
	}
	check("after importing the same file again")

	// The same lines gzipped are another file: a day's rotated .gz imports the same way.
	gz := filepath.Join(dir, "access.2021-03-11.log.gz")
	f, _ := os.Create(gz)
	zw := gzip.NewWriter(f)
	zw.Write([]byte(nginxLog))
	zw.Close()
	f.Close()
	if res, err := Import(st, gz, ImportOptions{Location: loc}); err != nil || !res.Skipped {
		t.Errorf("the gzipped copy of an imported log: %+v, %v; want skipped (same lines)", res, err)
	}
	st2 := openStore(t)
	if _, err := Import(st2, gz, ImportOptions{Location: loc}); err != nil {
		t.Fatal(err)
	}
	rows, _ := st2.Query("2021-03-11", "2021-03-11", "user.alice")
	if fmt.Sprint(rows) != "[{2021-03-11 user.alice map[bytes:4096 completed:1 requests:1]}]" {
		t.Errorf("gzip import: %v", rows)
	}
}

func TestParseLine(t *testing.T) {
	l, err := ParseLine(`127.0.0.1 - - [06/Dec/2026:22:10:03 +0000] "GET /a?b=\"c\" HTTP/1.1" 206 100 "https://x.example/p" "UA \x22q\x22" 0.004`)
	if err != nil {
		t.Fatal(err)
	}
	if l.Method != "GET" || l.Target != `/a?b=\"c\"` || l.Status != 206 || l.Bytes != 100 || l.Referer != "https://x.example/p" ||
		!l.Time.Equal(time.Date(2026, 12, 6, 22, 10, 3, 0, time.UTC)) {
		t.Errorf("%+v", l)
	}
	for _, bad := range []string{"", "x [", `a [06/Dec/2026:22:10:03 +0000] GET`, `a [06/Dec/2026:22:10:03 +0000] "GET / HTTP/1.1" x 1`} {
		if _, err := ParseLine(bad); !errors.Is(err, ErrLogLine) {
			t.Errorf("ParseLine(%q) = %v, want ErrLogLine", bad, err)
		}
	}
}
