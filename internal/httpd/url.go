package httpd

import (
	"net/url"
	"strconv"
	"strings"
)

// Limits of the URL parser.
const (
	// maxURI is the longest request-target accepted (FastDFS: 512 bytes after the host, which
	// breaks long ?filename= values).
	maxURI = 8192
	// minRemote is FastDFS's "file id too short" bound on the name after the group.
	minRemote = 22
)

// splitPath splits a decoded URL path into the group segment (when haveGroup) and the remote
// file name "M00/XX/YY/name". It does not allocate. ok is false when the path does not start
// with '/' or, with haveGroup, has no group segment.
func splitPath(p string, haveGroup bool) (group, remote string, ok bool) {
	if len(p) == 0 || p[0] != '/' {
		return "", "", false
	}
	p = p[1:]
	if !haveGroup {
		return "", p, true
	}
	i := strings.IndexByte(p, '/')
	if i <= 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// queryValue returns the value of the first key=value pair named key in a raw query, decoded,
// and whether such a pair (with '=') exists. It allocates only when the value is escaped.
func queryValue(raw, key string) (string, bool) {
	for raw != "" {
		var pair string
		if i := strings.IndexByte(raw, '&'); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, ""
		}
		eq := strings.IndexByte(pair, '=')
		if eq < 0 || pair[:eq] != key {
			continue
		}
		v := pair[eq+1:]
		if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
			return v, true
		}
		d, err := url.QueryUnescape(v)
		if err != nil {
			return v, true
		}
		return d, true
	}
	return "", false
}

// hasQueryKey reports whether a raw query has a pair named key (as written, not decoded),
// with or without '='. It does not allocate.
func hasQueryKey(raw, key string) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if k, _, _ := strings.Cut(pair, "="); k == key {
			return true
		}
	}
	return false
}

// itoa formats n in decimal.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// extOf returns the extension of the last path element of name ("" when it has none).
func extOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		switch name[i] {
		case '.':
			return name[i+1:]
		case '/':
			return ""
		}
	}
	return ""
}

// contentType returns the Content-Type value for a file name by its extension.
func (h *Handler) contentType(name string) []string {
	ext := extOf(name)
	if ext == "" {
		return h.defType
	}
	if v, ok := h.mime[ext]; ok {
		return v
	}
	if strings.ToLower(ext) != ext {
		if v, ok := h.mime[strings.ToLower(ext)]; ok {
			return v
		}
	}
	return h.defType
}
