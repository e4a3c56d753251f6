package logfile

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dateLayout is the date in rotated file names.
const dateLayout = "2006-01-02"

// nextAt returns the first time of day tod (an offset from midnight: hours and minutes) in t's
// location that is after t.
func nextAt(t time.Time, tod time.Duration) time.Time {
	h, m := int(tod/time.Hour), int(tod%time.Hour/time.Minute)
	y, mo, d := t.Date()
	b := time.Date(y, mo, d, h, m, 0, 0, t.Location())
	if !b.After(t) {
		b = time.Date(y, mo, d+1, h, m, 0, 0, t.Location())
	}
	return b
}

// day is a calendar date, as midnight UTC.
type day struct{ t time.Time }

func dayOf(t time.Time) day {
	y, m, d := t.Date()
	return day{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// daysSince returns how many calendar days d lies before today.
func (d day) daysSince(today day) int { return int(today.t.Sub(d.t).Hours() / 24) }

func (d day) String() string { return d.t.Format(dateLayout) }

// periodDay returns the day of the rotation period t lies in: the day on which the period
// that ends at the next rotate time after t began.
func periodDay(t time.Time, rotateAt time.Duration) day {
	b := dayOf(nextAt(t, rotateAt))
	return day{b.t.AddDate(0, 0, -1)}
}

// names splits a live file's path into what rotated names are made of:
// dir/stem.YYYY-MM-DD[.N]ext[.gz].
type names struct {
	dir, stem, ext string
}

func splitPath(path string) names {
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	if ext == base { // ".log": a name that is all extension
		ext = ""
	}
	return names{dir: filepath.Dir(path), stem: strings.TrimSuffix(base, ext), ext: ext}
}

// rotated returns the path of the n-th file of d (n = 0 has no counter).
func (nm names) rotated(d day, n int) string {
	s := nm.stem + "." + d.String()
	if n > 0 {
		s += "." + strconv.Itoa(n)
	}
	return filepath.Join(nm.dir, s+nm.ext)
}

// parse reads a rotated file's base name: its day and whether it is gzipped. ok is false for
// any other name.
func (nm names) parse(base string) (d day, gz, ok bool) {
	rest, found := strings.CutPrefix(base, nm.stem+".")
	if !found || len(rest) < len(dateLayout) {
		return day{}, false, false
	}
	t, err := time.Parse(dateLayout, rest[:len(dateLayout)])
	if err != nil {
		return day{}, false, false
	}
	rest = rest[len(dateLayout):]
	rest, gz = strings.CutSuffix(rest, ".gz")
	rest, found = strings.CutSuffix(rest, nm.ext)
	if !found {
		return day{}, false, false
	}
	if rest != "" {
		n, hasDot := strings.CutPrefix(rest, ".")
		if !hasDot || !allDigits(n) {
			return day{}, false, false
		}
	}
	return day{t}, gz, true
}

func allDigits(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkTimeOfDay checks an offset from midnight for the error message of what.
func checkTimeOfDay(what string, d time.Duration) error {
	if d < 0 || d >= 24*time.Hour || d%time.Minute != 0 {
		return fmt.Errorf("%w: %s %v: want a whole minute of the day (00:00 to 23:59)", ErrOptions, what, d)
	}
	return nil
}
