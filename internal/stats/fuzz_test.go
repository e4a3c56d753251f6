package stats

import (
	"strings"
	"testing"
)

func FuzzParseLine(f *testing.F) {
	for _, l := range strings.Split(nginxLog, "\n") {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLine(s)
		if err != nil {
			return
		}
		if l.Status < 100 || l.Status > 999 || l.Bytes < 0 {
			t.Fatalf("ParseLine(%q) accepted %+v", s, l)
		}
	})
}

func FuzzBeaconKeys(f *testing.F) {
	f.Add("h5", "pv", "85", "41")
	f.Add("h5", "", "x", "")
	f.Add("a.b", "c", "", "")
	f.Fuzz(func(t *testing.T, c, a, l, v string) {
		keys, err := BeaconKeys(c, a, l, v)
		if err != nil {
			return
		}
		for i, k := range keys {
			if strings.Count(k, ".") != i || len(k) > 4*MaxPart+3 {
				t.Fatalf("BeaconKeys(%q,%q,%q,%q) gave key %q at level %d", c, a, l, v, k, i)
			}
		}
	})
}
