package stats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrLogLine is wrapped by ParseLine's errors.
var ErrLogLine = errors.New("stats: not a combined-format log line")

// LogLine is what the importer needs of one access-log line in nginx's combined format
// (Depot's default format is combined plus the request time, which is ignored):
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" …
type LogLine struct {
	Time    time.Time
	Method  string
	Target  string // the request-target: path and query
	Status  int
	Bytes   int64
	Referer string
}

// ParseLine parses one line. Strings inside quotes may hold nginx's \xHH escapes, which are
// kept as they are (the importer only looks at the request-target's ASCII form).
func ParseLine(s string) (LogLine, error) {
	var l LogLine
	// $remote_addr - $remote_user [
	open := strings.IndexByte(s, '[')
	if open < 0 {
		return l, fmt.Errorf("%w: no [time]", ErrLogLine)
	}
	rest := s[open+1:]
	closeAt := strings.IndexByte(rest, ']')
	if closeAt < 0 {
		return l, fmt.Errorf("%w: unterminated [time]", ErrLogLine)
	}
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", rest[:closeAt])
	if err != nil {
		return l, fmt.Errorf("%w: time %q", ErrLogLine, rest[:closeAt])
	}
	l.Time = t
	rest = strings.TrimPrefix(rest[closeAt+1:], " ")
	req, rest, err := quoted(rest)
	if err != nil {
		return l, fmt.Errorf("%w: request: %v", ErrLogLine, err)
	}
	// "GET /path HTTP/1.1"; a malformed request line ("-", junk) has no target.
	if m, after, ok := strings.Cut(req, " "); ok {
		l.Method = m
		l.Target, _, _ = strings.Cut(after, " ")
	}
	fields := strings.Fields(rest)
	if len(fields) < 2 {
		return l, fmt.Errorf("%w: no status and bytes", ErrLogLine)
	}
	if l.Status, err = strconv.Atoi(fields[0]); err != nil || l.Status < 100 || l.Status > 999 {
		return l, fmt.Errorf("%w: status %q", ErrLogLine, fields[0])
	}
	if fields[1] != "-" {
		if l.Bytes, err = strconv.ParseInt(fields[1], 10, 64); err != nil || l.Bytes < 0 {
			return l, fmt.Errorf("%w: bytes %q", ErrLogLine, fields[1])
		}
	}
	// "$http_referer" follows the bytes.
	if i := strings.IndexByte(rest, '"'); i >= 0 {
		if ref, _, err := quoted(rest[i:]); err == nil && ref != "-" {
			l.Referer = ref
		}
	}
	return l, nil
}

// quoted reads a "…" field at the start of s (with \" and \\ escapes, as nginx writes
// \x22 and \x5C but other writers may not) and returns its content and the rest after it.
func quoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, errors.New("no opening quote")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[1:i], s[i+1:], nil
		}
	}
	return "", s, errors.New("no closing quote")
}
