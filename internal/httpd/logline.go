package httpd

import (
	"bytes"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/depotfs/depot/internal/httpd/fastsrv"
	lf "github.com/depotfs/depot/internal/logformat"
)

// logEntry is what one access-log line is made of. r and w are read only while the handler
// runs: the server reuses them for the connection's next request.
type logEntry struct {
	r        *http.Request
	w        http.ResponseWriter
	status   int
	body     int64 // body bytes written
	now      time.Time
	took     time.Duration
	user     string // the grant's user; "" = none
	complete bool   // the response was written in full
	acked    int64  // body bytes the client acknowledged (0 when no watch resolved yet)
}

// hole is where a variable known only once the client acknowledged the body goes in a line
// formatted before that: at pos, v's value.
type hole struct {
	pos int
	v   lf.Var
}

// late reports whether v is an acknowledgement variable.
func late(v lf.Var) bool { return v == lf.DepotBytesAcked || v == lf.RequestCompletion }

// appendLine appends e's line in format f, newline included. With holes non-nil, the
// acknowledgement variables are left out and their places appended to *holes.
func appendLine(b []byte, f *lf.Format, e *logEntry, holes *[]hole) []byte {
	for _, op := range f.Ops {
		if holes != nil && late(op.Var) {
			*holes = append(*holes, hole{pos: len(b), v: op.Var})
			continue
		}
		b = appendVar(b, op, e)
	}
	return append(b, '\n')
}

// appendVar appends the value of one op: see docs/logs.md for each variable.
func appendVar(b []byte, op lf.Op, e *logEntry) []byte {
	r := e.r
	switch op.Var {
	case lf.Literal:
		return append(b, op.Arg...)
	case lf.RemoteAddr, lf.RemotePort:
		host, port, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host, port = r.RemoteAddr, ""
		}
		if op.Var == lf.RemotePort {
			return appendValue(b, port)
		}
		return appendEscaped(b, host)
	case lf.RemoteUser:
		return appendBasicUser(b, r.Header["Authorization"])
	case lf.TimeLocal:
		return e.now.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	case lf.TimeISO8601:
		return e.now.AppendFormat(b, "2006-01-02T15:04:05-07:00")
	case lf.Msec:
		return appendMillis(b, e.now.UnixMilli())
	case lf.Request:
		b = appendEscaped(b, r.Method)
		b = append(b, ' ')
		b = appendEscaped(b, r.RequestURI)
		b = append(b, ' ')
		return appendEscaped(b, r.Proto)
	case lf.RequestMethod:
		return appendValue(b, r.Method)
	case lf.RequestURI:
		return appendValue(b, r.RequestURI)
	case lf.URI:
		return appendValue(b, r.URL.Path)
	case lf.Args:
		return appendValue(b, r.URL.RawQuery)
	case lf.ServerProtocol:
		return appendValue(b, r.Proto)
	case lf.Status:
		return strconv.AppendInt(b, int64(e.status), 10)
	case lf.BodyBytesSent:
		return strconv.AppendInt(b, e.body, 10)
	case lf.BytesSent:
		return strconv.AppendInt(b, headerSize(e.w.Header(), e.status)+e.body, 10)
	case lf.RequestTime:
		return appendMillis(b, e.took.Milliseconds())
	case lf.Connection:
		if cs, ok := e.w.(fastsrv.ConnSerialer); ok {
			return strconv.AppendUint(b, cs.ConnSerial(), 10)
		}
		return append(b, '-')
	case lf.HTTP:
		return appendField(b, r.Header[op.Arg])
	case lf.SentHTTP:
		return appendField(b, e.w.Header()[op.Arg])
	case lf.DepotUser:
		return appendValue(b, e.user)
	}
	return appendLate(b, op.Var, e.acked, e.complete)
}

// appendLate appends an acknowledgement variable.
func appendLate(b []byte, v lf.Var, acked int64, complete bool) []byte {
	switch v {
	case lf.DepotBytesAcked:
		return strconv.AppendInt(b, acked, 10)
	case lf.RequestCompletion:
		if complete {
			return append(b, "OK"...)
		}
	}
	return b
}

// appendMillis appends a count of milliseconds as seconds with three decimals.
func appendMillis(b []byte, ms int64) []byte {
	b = strconv.AppendInt(b, ms/1000, 10)
	return append(b, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
}

// appendValue appends s escaped, or "-" when it is empty.
func appendValue(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// appendField appends a header's first value, or "-" when absent, escaped as nginx does.
func appendField(b []byte, v []string) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	return appendValue(b, v[0])
}

// appendBasicUser appends the user name of HTTP Basic credentials, or "-" (nginx's
// $remote_user). It decodes on the stack: a download pays nothing for it.
func appendBasicUser(b []byte, auth []string) []byte {
	const prefix = "basic "
	if len(auth) == 0 || len(auth[0]) <= len(prefix) || !strings.EqualFold(auth[0][:len(prefix)], prefix) {
		return append(b, '-')
	}
	var src, dst [256]byte
	enc := strings.TrimSpace(auth[0][len(prefix):])
	if len(enc) > len(src) {
		return append(b, '-')
	}
	n, err := base64.StdEncoding.Decode(dst[:], src[:copy(src[:], enc)])
	user, _, ok := bytes.Cut(dst[:n], []byte{':'})
	if err != nil || !ok || len(user) == 0 {
		return append(b, '-')
	}
	return appendEscaped(b, user)
}

// headerSize estimates the bytes of a response header with these fields: the status line,
// each field, the Date field servers add, and the blank line ($bytes_sent is approximate).
func headerSize(hd http.Header, status int) int64 {
	n := len("HTTP/1.1 200 \r\n") + len(http.StatusText(status)) + len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n") + 2
	for k, vs := range hd {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// appendEscaped appends s with '"', '\\', control and non-ASCII bytes written as \xHH, the way
// nginx escapes variables in log lines.
func appendEscaped[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789ABCDEF"
	clean := 0 // s[clean:i] needs no escaping
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			b = append(b, s[clean:i]...)
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			clean = i + 1
		}
	}
	return append(b, s[clean:]...)
}
