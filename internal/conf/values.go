package conf

import (
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
)

// ParseBool reads a boolean the FastDFS way: true, yes, on (any case) or 1 are true and
// everything else is false. known reports whether s was one of the recognised spellings
// (true/yes/on/1/false/no/off/0), so callers can warn about typos that silently mean false.
func ParseBool(s string) (v, known bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// ParseSize reads a byte count: decimal digits, then an optional K, M or G (any case,
// powers of 1024), then an optional B: "8KB", "1M", "2g", "512", "64MB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, invalid("size", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, invalid("size", s)
	}
	unit := strings.ToUpper(strings.TrimSpace(t[i:]))
	unit = strings.TrimSuffix(unit, "B")
	var mul int64
	switch unit {
	case "":
		mul = 1
	case "K":
		mul = 1 << 10
	case "M":
		mul = 1 << 20
	case "G":
		mul = 1 << 30
	default:
		return 0, invalid("size", s)
	}
	if n > math.MaxInt64/mul {
		return 0, invalid("size", s)
	}
	return n * mul, nil
}

// Reserved is reserved_storage_space: either a percentage of each store path's capacity
// (0 < Percent < 100) or an absolute byte count (Percent == 0).
type Reserved struct {
	Percent float64
	Bytes   int64
}

// String formats r the way a tracker pushes it to storages: "20.00%" or "1024MB"-style bytes.
func (r Reserved) String() string {
	if r.Percent > 0 {
		return strconv.FormatFloat(r.Percent, 'f', 2, 64) + "%"
	}
	switch {
	case r.Bytes != 0 && r.Bytes%(1<<30) == 0:
		return strconv.FormatInt(r.Bytes>>30, 10) + "GB"
	case r.Bytes != 0 && r.Bytes%(1<<20) == 0:
		return strconv.FormatInt(r.Bytes>>20, 10) + "MB"
	case r.Bytes != 0 && r.Bytes%(1<<10) == 0:
		return strconv.FormatInt(r.Bytes>>10, 10) + "KB"
	}
	return strconv.FormatInt(r.Bytes, 10)
}

// ParseReserved reads reserved_storage_space: "NN%" / "NN.NN%" (strictly between 0 and 100)
// or a byte size accepted by ParseSize.
func ParseReserved(s string) (Reserved, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		p = strings.TrimSpace(p)
		if p == "" || strings.ContainsAny(p, "eEinIN+-xXpP_") {
			return Reserved{}, invalid("percentage", s)
		}
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f < 100) {
			return Reserved{}, invalid("percentage (want 0 < NN < 100)", s)
		}
		return Reserved{Percent: f}, nil
	}
	n, err := ParseSize(t)
	if err != nil {
		return Reserved{}, invalid("reserved space (want NN% or a size)", s)
	}
	return Reserved{Bytes: n}, nil
}

// TimeOfDay is an HH:MM clock time such as sync_start_time.
type TimeOfDay struct {
	Hour, Minute int
}

// String formats t as HH:MM.
func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// Minutes returns the minutes since midnight.
func (t TimeOfDay) Minutes() int { return t.Hour*60 + t.Minute }

// ParseTimeOfDay reads "HH:MM" (hour 0..23, minute 0..59; one-digit parts allowed).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := atoiDigits(h)
	mm, err2 := atoiDigits(m)
	if !ok || err1 != nil || err2 != nil || hh > 23 || mm > 59 {
		return TimeOfDay{}, invalid("time of day (want HH:MM)", s)
	}
	return TimeOfDay{Hour: hh, Minute: mm}, nil
}

// atoiDigits accepts 1 or 2 decimal digits only.
func atoiDigits(s string) (int, error) {
	if len(s) == 0 || len(s) > 2 {
		return 0, ErrInvalidValue
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, ErrInvalidValue
		}
	}
	return strconv.Atoi(s)
}

// parseInt is strict: optional sign and decimal digits, nothing else. FastDFS uses atoi
// (junk ignored, "abc" = 0); Depot refuses such values.
func parseInt(s string) (int, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 0)
	if err != nil {
		return 0, invalid("integer", s)
	}
	return int(n), nil
}

// CheckHostPort checks a "host:port" address such as a tracker_server value; IPv6 hosts
// go in brackets. A FastDFS multi-address value ("inner:port,outer:port") is accepted
// when every part is valid.
func CheckHostPort(s string) error {
	for _, part := range strings.Split(s, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(part))
		if err != nil || host == "" || strings.ContainsAny(host, " \t") {
			return invalid("address (want host:port)", s)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return invalid("port in address", s)
		}
	}
	return nil
}

// checkPort checks a listening port number.
// checkAdminPort checks http.admin_port: 0 (off) or a port that none of the node's other
// listeners (others, by key) uses.
func checkAdminPort(p int, others map[string]int) error {
	if p == 0 {
		return nil
	}
	if p < 0 || p > 65535 {
		return keyErr("http.admin_port", invalid("port (want 0 = off, or 1..65535)", strconv.Itoa(p)))
	}
	for _, key := range slices.Sorted(maps.Keys(others)) {
		if others[key] == p {
			return keyErr("http.admin_port", invalid("port (same as "+key+")", strconv.Itoa(p)))
		}
	}
	return nil
}

// checkNativePort checks native_port: 0 (FastDFS's protocol on port, beside gRPC) or a
// port of its own, not port.
func checkNativePort(p, port int) error {
	if p == 0 {
		return nil
	}
	if p < 0 || p > 65535 {
		return keyErr("native_port", invalid("port (want 0 = on port, or 1..65535)", strconv.Itoa(p)))
	}
	if p == port {
		return keyErr("native_port", invalid("port (same as port; use 0 to share it)", strconv.Itoa(p)))
	}
	return nil
}

func checkPort(key string, p int) error {
	if p < 1 || p > 65535 {
		return keyErr(key, invalid("port (want 1..65535)", strconv.Itoa(p)))
	}
	return nil
}
