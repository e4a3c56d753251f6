package httpd

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// serveFile answers a GET or HEAD for a file found here: conditionals, ranges, then the body.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, id fileid.ID, f disk.File) (int, int64) {
	size := f.Size
	// Header values are formatted into one buffer and turned into one string; each header
	// gets a one-element slice of a shared backing array.
	var buf [160]byte
	b := buf[:0]
	var lastMod time.Time
	hasETag := false
	switch id.Kind() {
	case fileid.Normal, fileid.Trunk:
		lastMod = id.Created().UTC()
		b = appendETag(b, id.CRC32(), size)
		hasETag = true
	default: // slave and appender files: the ID holds the master's time and no size
		lastMod = f.ModTime.UTC().Truncate(time.Second)
	}
	etagEnd := len(b)
	b = lastMod.AppendFormat(b, http.TimeFormat)
	lmEnd := len(b)

	hd := w.Header()
	vals := make([]string, 6)
	s := string(b)
	etag := s[:etagEnd]
	vals[0] = s[etagEnd:lmEnd]
	hd["Last-Modified"] = vals[0:1:1]
	if hasETag {
		vals[1] = etag
		hd["Etag"] = vals[1:2:2]
	}
	switch preconditions(r.Header, etag, lastMod) {
	case http.StatusNotModified:
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified, 0
	case http.StatusPreconditionFailed:
		return h.fail(w, r, http.StatusPreconditionFailed, "precondition failed (If-Match / If-Unmodified-Since)")
	}
	hd["Accept-Ranges"] = hvBytes
	if fn, ok := queryValue(r.URL.RawQuery, "filename"); ok && fn != "" {
		vals[2] = contentDisposition(fn)
		hd["Content-Disposition"] = vals[2:3:3]
	}
	ctype := h.contentType(id.Name())

	var rbuf [1]byteRange
	ranges := rbuf[:0]
	if rv := r.Header["Range"]; len(rv) > 0 && size > 0 && ifRangeAllows(r.Header, etag, lastMod) {
		var err error
		ranges, err = parseRange(ranges, rv[0], size, h.cfg.MaxRanges)
		switch {
		case errors.Is(err, errRangeUnit):
			ranges = ranges[:0]
		case errors.Is(err, errRangeUnsatisfiable) || errors.Is(err, errRangeSyntax) || errors.Is(err, errRangeTooMany):
			hd["Content-Range"] = []string{"bytes */" + itoa(size)}
			return h.fail(w, r, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable: "+err.Error())
		}
		if len(ranges) > 1 {
			if !h.cfg.MultiRange {
				hd["Content-Range"] = []string{"bytes */" + itoa(size)}
				return h.fail(w, r, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable: multiple ranges are disabled")
			}
			if sumRanges(ranges) > size { // overlapping ranges: answer with the whole file
				ranges = ranges[:0]
			}
		}
	}
	if len(ranges) > 1 {
		return h.serveMultipart(w, r, f, ranges, ctype[0])
	}
	hd["Content-Type"] = ctype
	status, start, n := http.StatusOK, int64(0), size
	b = b[:0]
	if len(ranges) == 1 {
		status, start, n = http.StatusPartialContent, ranges[0].start, ranges[0].length
		b = append(b, "bytes "...)
		b = strconv.AppendInt(b, start, 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, start+n-1, 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, size, 10)
	}
	crEnd := len(b)
	b = strconv.AppendInt(b, n, 10)
	s = string(b)
	if crEnd > 0 {
		vals[3] = s[:crEnd]
		hd["Content-Range"] = vals[3:4:4]
	}
	vals[4] = s[crEnd:]
	hd["Content-Length"] = vals[4:5:5]
	return h.sendBody(w, r, f, status, start, n)
}

// sendBody writes the status and n bytes of f from start. The copy goes from the request's own
// *os.File through one io.LimitedReader into the ResponseWriter, which net/http turns into
// sendfile(2): keep it that way (see the package doc).
func (h *Handler) sendBody(w http.ResponseWriter, r *http.Request, f disk.File, status int, start, n int64) (int, int64) {
	if r.Method == http.MethodHead || n == 0 {
		w.WriteHeader(status)
		return status, 0
	}
	if _, err := f.F.Seek(f.Offset+start, io.SeekStart); err != nil {
		h.cfg.Logger.Error("seek stored file", "file", f.F.Name(), "err", err)
		delete(w.Header(), "Content-Range")
		return h.fail(w, r, http.StatusInternalServerError, "cannot read the file")
	}
	w.WriteHeader(status)
	written, err := io.CopyN(w, f.F, n)
	if err != nil {
		h.cfg.Logger.Debug("send file", "file", f.F.Name(), "sent", written, "want", n, "err", err)
	}
	return status, written
}

func sumRanges(rs []byteRange) int64 {
	var t int64
	for _, r := range rs {
		t += r.length
	}
	return t
}
