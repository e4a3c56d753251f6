package fastsrv

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// readRequest reads and parses the next request into c.req. It returns 0 when c.req is
// ready, -1 when the connection ended between requests (EOF, timeout, closed), or an error
// status and message to answer before closing.
func (c *conn) readRequest() (int, string) {
	scanned := 0
	started := false // the header deadline runs from the request's first byte
	for {
		data := c.buffered()
		if skip := leadingEmptyLines(data); skip > 0 { // RFC 9112 §2.2
			c.consume(skip)
			scanned = 0
			continue
		}
		if i := headerEnd(data, scanned); i >= 0 {
			status, msg := c.parse(data[:i])
			c.consume(i)
			return status, msg
		}
		scanned = max(len(data)-3, 0)
		if len(data) > c.srv.cfg.MaxHeaderBytes {
			if bytes.IndexByte(data, '\n') < 0 {
				return http.StatusRequestURITooLong, "request line too long"
			}
			return http.StatusRequestHeaderFieldsTooLarge, "request header too large"
		}
		if len(data) == 0 {
			c.deadline(c.srv.cfg.IdleTimeout)
			started = false
		} else if !started {
			// Set once per request and never pushed back while the header is incomplete,
			// so a client trickling bytes cannot hold the connection open.
			c.deadline(c.srv.cfg.ReadHeaderTimeout)
			started = true
		}
		if err := c.fill(); err != nil {
			if len(c.buffered()) > 0 {
				c.srv.cfg.Logger.Debug("incomplete request", "remote", c.req.RemoteAddr, "err", err)
			}
			return -1, ""
		}
	}
}

// leadingEmptyLines returns the number of CR and LF bytes at the start of b.
func leadingEmptyLines(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == '\r' || b[n] == '\n') {
		n++
	}
	return n
}

// headerEnd returns the length of the header block (through its empty line) in b, searching
// from from, or -1. Bare LF line ends are accepted.
func headerEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// nextLine splits b at its first line end (CRLF or LF).
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parse fills c.req from a complete header block.
func (c *conn) parse(block []byte) (int, string) {
	line, rest := nextLine(block)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return http.StatusBadRequest, "malformed request line"
	}
	method, target, proto := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	req := c.req
	switch {
	case string(proto) == "HTTP/1.1":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	case string(proto) == "HTTP/1.0":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		return http.StatusHTTPVersionNotSupported, "HTTP version not supported"
	}
	if !c.setMethod(method) {
		return http.StatusBadRequest, "malformed method"
	}
	if string(target) != c.uri || c.url == nil {
		u, err := url.ParseRequestURI(string(target))
		if err != nil {
			c.url = nil
			return http.StatusBadRequest, "malformed request-target"
		}
		c.uri, c.url = string(target), u
	}
	req.RequestURI = c.uri
	req.URL = c.url
	req.Host = c.url.Host
	req.Header = c.hdr
	req.Close = req.ProtoMinor == 0
	req.ContentLength = 0
	return c.parseHeader(rest)
}

// setMethod sets req.Method, reusing the constant or previous string.
func (c *conn) setMethod(m []byte) bool {
	switch string(m) {
	case http.MethodGet:
		c.req.Method = http.MethodGet
		return true
	case http.MethodHead:
		c.req.Method = http.MethodHead
		return true
	}
	for _, b := range m {
		if !isTokenChar(b) {
			return false
		}
	}
	if string(m) != c.method {
		c.method = string(m)
	}
	c.req.Method = c.method
	return true
}

// parseHeader parses the header fields into c.hdr (Host into req.Host) and decides keep-alive.
func (c *conn) parseHeader(b []byte) (int, string) {
	clear(c.hdr)
	c.prev, c.cur = c.cur, c.prev[:0]
	req := c.req
	hasHost, keepAlive, closeTok, body := false, false, false, false
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return http.StatusBadRequest, "obsolete header line folding"
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return http.StatusBadRequest, "malformed header line"
		}
		key, ok := canonicalKey(line[:colon])
		if !ok {
			return http.StatusBadRequest, "malformed header name"
		}
		val := bytes.Trim(line[colon+1:], " \t")
		switch key {
		case "Host":
			if hasHost {
				return http.StatusBadRequest, "more than one Host header"
			}
			hasHost = true
			req.Host = c.value(key, val)[0]
			continue
		case "Connection":
			closeTok = closeTok || hasToken(val, "close")
			keepAlive = keepAlive || hasToken(val, "keep-alive")
		case "Content-Length":
			n, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil || n < 0 {
				return http.StatusBadRequest, "malformed Content-Length"
			}
			body = body || n > 0
		case "Transfer-Encoding":
			body = true
		}
		vals := c.value(key, val)
		if old, ok := c.hdr[key]; ok {
			vals = append(old[:len(old):len(old)], vals[0])
		}
		c.hdr[key] = vals
	}
	req.Close = closeTok || req.ProtoMinor == 0 && !keepAlive
	if body {
		req.Close = true // the download port takes no body: answer, then close
	}
	if !hasHost && req.ProtoMinor == 1 {
		return http.StatusBadRequest, "missing Host header"
	}
	return 0, ""
}

// value returns the one-element value slice for key: the previous request's when equal.
func (c *conn) value(key string, val []byte) []string {
	i := len(c.cur)
	if i < len(c.prev) && c.prev[i].key == key && c.prev[i].vals[0] == string(val) {
		c.cur = append(c.cur, c.prev[i])
		return c.prev[i].vals
	}
	for _, f := range c.prev {
		if f.key == key && f.vals[0] == string(val) {
			c.cur = append(c.cur, f)
			return f.vals
		}
	}
	f := field{key: key, vals: []string{headerValue(val)}}
	c.cur = append(c.cur, f)
	return f.vals
}

// headerValue returns v as a string with control characters other than tab made spaces.
func headerValue(v []byte) string {
	s := string(v)
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			bs := []byte(s)
			for j := range bs {
				if bs[j] < ' ' && bs[j] != '\t' || bs[j] == 0x7f {
					bs[j] = ' '
				}
			}
			return string(bs)
		}
	}
	return s
}

// hasToken reports whether a comma-separated header value holds tok (case-insensitive).
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		if equalFold(bytes.Trim(part, " \t"), tok) {
			return true
		}
	}
	return false
}

// commonKeys are the header names a download request carries, in canonical form.
var commonKeys = [...]string{
	"Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection",
	"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
	"Referer", "Cookie", "Cache-Control", "Pragma", "Content-Length", "Transfer-Encoding",
	"X-Forwarded-For", "X-Real-Ip", "Authorization", "Upgrade", "Keep-Alive", "Te", "Expect",
}

// canonicalKey returns the canonical form of a header name, without allocating for the
// common ones; ok is false when the name is not an RFC 9110 token.
func canonicalKey(k []byte) (string, bool) {
	for _, b := range k {
		if !isTokenChar(b) {
			return "", false
		}
	}
	for _, ck := range commonKeys {
		if equalFold(k, ck) {
			return ck, true
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(k)), true
}

// isTokenChar reports whether b may appear in an RFC 9110 token.
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return b > ' ' && b < 0x7f && strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// equalFold reports whether b equals s ignoring ASCII case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			if x != y {
				return false
			}
		}
	}
	return true
}
