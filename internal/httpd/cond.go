package httpd

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// appendETag appends the strong ETag of a normal or trunk file: its crc32 and size from the
// ID, which identify the content (file IDs are never reused for other bytes).
func appendETag(b []byte, crc uint32, size int64) []byte {
	b = append(b, '"')
	const hex = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hex[crc>>uint(shift)&0xf])
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, size, 16)
	return append(b, '"')
}

// scanETag returns the first entity-tag of a list and the rest after it, or "" when s does
// not start with one.
func scanETag(s string) (etag, rest string) {
	s = strings.TrimLeft(s, " \t")
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s[start:]) < 2 || s[start] != '"' {
		return "", ""
	}
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return s[:i+1], s[i+1:]
		case c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80:
		default:
			return "", ""
		}
	}
	return "", ""
}

// etagListMatch reports whether a header's entity-tag list (all its lines) holds ours, or "*".
// weak selects the weak comparison (If-None-Match); strong comparison never matches W/ tags.
func etagListMatch(lines []string, ours string, weak bool) bool {
	for _, line := range lines {
		s := line
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] == '*' {
				return true
			}
			t, rest := scanETag(s)
			if t == "" {
				break
			}
			if ours != "" {
				if weak && strings.TrimPrefix(t, "W/") == ours {
					return true
				}
				if !weak && t == ours {
					return true
				}
			}
			s = rest
		}
	}
	return false
}

// preconditions evaluates the conditional headers of a GET or HEAD in RFC 9110 §13.2.2 order
// and returns 0 to go on, 412 or 304. etag may be "" (no ETag for this file).
func preconditions(h http.Header, etag string, lastMod time.Time) int {
	if v := h["If-Match"]; len(v) > 0 {
		if !etagListMatch(v, etag, false) {
			return http.StatusPreconditionFailed
		}
	} else if v := h["If-Unmodified-Since"]; len(v) > 0 {
		if t, err := http.ParseTime(v[0]); err == nil && lastMod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if v := h["If-None-Match"]; len(v) > 0 {
		if etagListMatch(v, etag, true) {
			return http.StatusNotModified
		}
		return 0
	}
	if v := h["If-Modified-Since"]; len(v) > 0 {
		if t, err := http.ParseTime(v[0]); err == nil && !lastMod.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// ifRangeAllows reports whether a Range may be honoured: no If-Range, or an If-Range naming our
// strong ETag or exactly our Last-Modified date.
func ifRangeAllows(h http.Header, etag string, lastMod time.Time) bool {
	v := h["If-Range"]
	if len(v) == 0 {
		return true
	}
	s := strings.TrimSpace(v[0])
	if strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "W/") {
		return etag != "" && s == etag
	}
	t, err := http.ParseTime(s)
	return err == nil && t.Equal(lastMod)
}
