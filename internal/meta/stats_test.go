package meta

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestStatsStore(t *testing.T) {
	s, err := OpenStats(filepath.Join(t.TempDir(), "stats.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := func(day, key string, cs Counters) map[string]map[string]Counters {
		return map[string]map[string]Counters{day: {key: cs}}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddLive(d("2021-03-21", "h5.pv", Counters{"pv": 40})))
	must(s.AddLive(d("2021-03-21", "h5.pv", Counters{"pv": 50}))) // live total 90: a crash lost 10
	must(s.AddLive(d("2021-03-22", "h5", Counters{"pv": 1})))
	must(s.AddLive(d("2021-03-21", "h5x", Counters{"pv": 7}))) // not under prefix h5

	// A partial import that died, then the same file imported in full, then again.
	if already, err := s.BeginImport("sha-a"); err != nil || already {
		t.Fatal(already, err)
	}
	must(s.AddImport("sha-a", d("2021-03-21", "h5.pv", Counters{"pv": 60})))
	for range 2 {
		already, err := s.BeginImport("sha-a")
		must(err)
		if already {
			continue
		}
		must(s.AddImport("sha-a", d("2021-03-21", "h5.pv", Counters{"pv": 60})))
		must(s.AddImport("sha-a", d("2021-03-21", "h5.pv", Counters{"pv": 40})))
		must(s.FinishImport("sha-a", "access.2021-03-21.log"))
	}
	rows, err := s.Query("2021-03-21", "2021-03-22", "h5")
	must(err)
	if got := fmt.Sprint(rows); got != "[{2021-03-21 h5.pv map[pv:100]} {2021-03-22 h5 map[pv:1]}]" {
		t.Errorf("rows = %s", got)
	}
	rows, err = s.Query("2021-03-22", "2021-03-22", "")
	must(err)
	if len(rows) != 1 {
		t.Errorf("one day: %v", rows)
	}
}
