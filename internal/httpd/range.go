package httpd

import (
	"errors"
	"strings"
)

// byteRange is one satisfiable range: length bytes from start, both within the file.
type byteRange struct {
	start, length int64
}

// Range header outcomes other than a list of ranges.
var (
	// errRangeUnit: the unit is not "bytes"; RFC 9110 says to ignore the header (200).
	errRangeUnit = errors.New("range unit is not bytes")
	// errRangeSyntax: malformed; answered with 416 like FastDFS and net/http.
	errRangeSyntax = errors.New("malformed Range header")
	// errRangeUnsatisfiable: no range overlaps the file (416 with Content-Range: bytes */N).
	errRangeUnsatisfiable = errors.New("no range overlaps the file")
	// errRangeTooMany: more ranges than Config.MaxRanges (416).
	errRangeTooMany = errors.New("too many ranges")
)

// parseRange parses a Range header value against a file of size bytes (RFC 9110 §14.1.2),
// appending the satisfiable ranges to dst: "S-E" (E clamped to size-1), "S-" (to the end), "-N"
// (the last N bytes, the whole file when N >= size). Unsatisfiable ranges are dropped; when none
// is left the error is errRangeUnsatisfiable. At most max ranges are accepted.
func parseRange(dst []byteRange, s string, size int64, max int) ([]byteRange, error) {
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		return dst, errRangeSyntax
	}
	if !strings.EqualFold(strings.TrimSpace(s[:eq]), "bytes") {
		return dst, errRangeUnit
	}
	s = s[eq+1:]
	count := 0
	base := len(dst)
	for {
		var part string
		i := strings.IndexByte(s, ',')
		if i >= 0 {
			part, s = s[:i], s[i+1:]
		} else {
			part = s
		}
		part = strings.Trim(part, " \t")
		if part != "" { // RFC 9110 allows empty list elements
			count++
			if count > max {
				return dst[:base], errRangeTooMany
			}
			r, ok, err := parseOneRange(part, size)
			if err != nil {
				return dst[:base], err
			}
			if ok {
				dst = append(dst, r)
			}
		}
		if i < 0 {
			break
		}
	}
	if count == 0 {
		return dst[:base], errRangeSyntax
	}
	if len(dst) == base {
		return dst, errRangeUnsatisfiable
	}
	return dst, nil
}

// parseOneRange parses one range-spec; ok is false when it is valid but unsatisfiable.
func parseOneRange(part string, size int64) (byteRange, bool, error) {
	dash := strings.IndexByte(part, '-')
	if dash < 0 {
		return byteRange{}, false, errRangeSyntax
	}
	first, last := strings.TrimSpace(part[:dash]), strings.TrimSpace(part[dash+1:])
	if first == "" { // suffix: -N
		n, ok := parseDigits(last)
		if !ok {
			return byteRange{}, false, errRangeSyntax
		}
		if n == 0 || size == 0 {
			return byteRange{}, false, nil
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, true, nil
	}
	start, ok := parseDigits(first)
	if !ok {
		return byteRange{}, false, errRangeSyntax
	}
	end := size - 1
	if last != "" {
		e, ok := parseDigits(last)
		if !ok || e < start {
			return byteRange{}, false, errRangeSyntax
		}
		end = min(e, size-1)
	}
	if start >= size {
		return byteRange{}, false, nil
	}
	return byteRange{start: start, length: end - start + 1}, true, nil
}

// parseDigits parses a non-empty run of ASCII digits, saturating at 2^62 (past any file size).
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	const limit = int64(1) << 62
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < limit/10 {
			n = n*10 + int64(c-'0')
		} else {
			n = limit
		}
	}
	return n, true
}
