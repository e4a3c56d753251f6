package httpd

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// serveMultipart answers several ranges with a multipart/byteranges body of exactly computed
// length. Each part's bytes are copied with Seek and io.CopyN like a single range.
func (h *Handler) serveMultipart(w http.ResponseWriter, r *http.Request, id fileid.ID, f disk.File, shared bool, gr *grant, ranges []byteRange, ctype string) (int, int64) {
	boundary := strconv.FormatUint(rand.Uint64(), 16) + strconv.FormatUint(rand.Uint64(), 16)
	heads := make([]string, len(ranges))
	total := int64(0)
	for i, rg := range ranges {
		heads[i] = "\r\n--" + boundary + "\r\nContent-Type: " + ctype +
			"\r\nContent-Range: bytes " + itoa(rg.start) + "-" + itoa(rg.start+rg.length-1) + "/" + itoa(f.Size) + "\r\n\r\n"
		total += int64(len(heads[i])) + rg.length
	}
	tail := "\r\n--" + boundary + "--\r\n"
	total += int64(len(tail))
	hd := w.Header()
	hd["Content-Type"] = []string{"multipart/byteranges; boundary=" + boundary}
	hd["Content-Length"] = []string{itoa(total)}
	w.WriteHeader(http.StatusPartialContent)
	if r.Method == http.MethodHead {
		return http.StatusPartialContent, 0
	}
	t := h.startTally(w)
	defer h.finishTally(t, r, id, f.Size, gr)
	p := h.pacerFor(gr, r) // one pacer for all parts: the limits hold for the whole body
	fl, _ := w.(http.Flusher)
	var sent int64
	for i, rg := range ranges {
		n, err := io.WriteString(w, heads[i])
		sent += int64(n)
		if err != nil {
			return http.StatusPartialContent, sent
		}
		t.part(rg.start, rg.length)
		if !shared {
			if _, err := f.F.Seek(f.Offset+rg.start, io.SeekStart); err != nil {
				h.cfg.Logger.Error("seek stored file", "file", f.F.Name(), "err", err)
				return http.StatusPartialContent, sent
			}
		}
		var m int64
		if p != nil {
			m, err = h.copyPaced(w, fl, r, f, shared, rg.start, rg.length, p)
		} else {
			m, err = h.copyBody(w, f, shared, rg.start, rg.length)
		}
		sent += m
		if err == nil && m < rg.length {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return http.StatusPartialContent, sent
		}
	}
	n, _ := io.WriteString(w, tail)
	return http.StatusPartialContent, sent + int64(n)
}

// contentDisposition builds "attachment; filename=…" for a ?filename= value: control characters
// are dropped, '"' and '\' escaped, and a name with non-ASCII characters gets an ASCII fallback
// ('_' for each such character) plus filename*=UTF-8”<percent-encoded> (RFC 6266, RFC 8187).
func contentDisposition(name string) string {
	var ascii, ext strings.Builder
	ascii.WriteString(`attachment; filename="`)
	nonASCII := false
	for i := 0; i < len(name); {
		c := name[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(name[i:])
			ascii.WriteByte('_')
			nonASCII = true
			i += size
			continue
		}
		i++
		if c < 0x20 || c == 0x7f {
			continue
		}
		if c == '"' || c == '\\' {
			ascii.WriteByte('\\')
		}
		ascii.WriteByte(c)
	}
	ascii.WriteByte('"')
	if !nonASCII {
		return ascii.String()
	}
	const hex = "0123456789ABCDEF"
	ext.WriteString(ascii.String())
	ext.WriteString("; filename*=UTF-8''")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAttrChar(c) {
			ext.WriteByte(c)
			continue
		}
		if c < 0x20 || c == 0x7f {
			continue
		}
		ext.WriteByte('%')
		ext.WriteByte(hex[c>>4])
		ext.WriteByte(hex[c&0xf])
	}
	return ext.String()
}

// isAttrChar reports whether c may appear unescaped in an RFC 8187 ext-value.
func isAttrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
