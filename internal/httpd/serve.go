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
// shared means f.F comes from the trunk cache: read it only at explicit offsets.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, id fileid.ID, f disk.File, shared bool, gr *grant) (int, int64) {
	size := f.Size
	// Header values are formatted into one stack buffer and turned into one string at the
	// end; each header gets a one-element slice of one shared backing array.
	var buf [192]byte
	b := buf[:0]
	var lastMod time.Time
	switch id.Kind() {
	case fileid.Normal, fileid.Trunk:
		lastMod = id.Created().UTC()
		b = appendETag(b, id.CRC32(), size)
	default: // slave and appender files: the ID holds the master's time and no size
		lastMod = f.ModTime.UTC().Truncate(time.Second)
	}
	etagEnd := len(b)
	b = lastMod.AppendFormat(b, http.TimeFormat)
	lmEnd := len(b)
	etag := string(b[:etagEnd]) // does not escape: compared only

	hd := w.Header()
	switch preconditions(r.Header, etag, lastMod) {
	case http.StatusNotModified:
		h.setValidators(hd, string(b), etagEnd, lmEnd)
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified, 0
	case http.StatusPreconditionFailed:
		return h.fail(w, r, http.StatusPreconditionFailed, "precondition failed (If-Match / If-Unmodified-Since)")
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
		case err != nil:
			return h.failRange(w, r, size, b, etagEnd, lmEnd, "range not satisfiable: "+err.Error())
		case len(ranges) > 1 && !h.cfg.MultiRange:
			return h.failRange(w, r, size, b, etagEnd, lmEnd, "range not satisfiable: multiple ranges are disabled")
		case len(ranges) > 1 && sumRanges(ranges) > size: // overlapping ranges: send the whole file
			ranges = ranges[:0]
		}
	}
	hd["Accept-Ranges"] = hvBytes
	switch {
	case gr.disposition != "":
		hd["Content-Disposition"] = []string{gr.disposition}
	case gr.filename != "":
		hd["Content-Disposition"] = []string{contentDisposition(gr.filename)}
	default:
		if fn, ok := queryValue(r.URL.RawQuery, "filename"); ok && fn != "" {
			hd["Content-Disposition"] = []string{contentDisposition(fn)}
		}
	}
	if gr.ctype != "" {
		ctype = []string{gr.ctype}
	}
	if h.cfg.FLV && len(r.Header["Range"]) == 0 && extOf(id.Name()) == h.cfg.FLVExtension {
		start, n, ok, err := flvRange(r.URL.RawQuery, size)
		if err != nil {
			return h.fail(w, r, http.StatusBadRequest, err.Error())
		}
		if ok {
			hd["Content-Type"] = ctype
			return h.serveFLV(w, r, id, f, shared, gr, string(b[etagEnd:lmEnd]), start, n)
		}
	}
	if len(ranges) > 1 {
		h.setValidators(hd, string(b), etagEnd, lmEnd)
		return h.serveMultipart(w, r, id, f, shared, gr, ranges, ctype[0])
	}
	hd["Content-Type"] = ctype
	status, start, n := http.StatusOK, int64(0), size
	crStart := len(b)
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
	str := string(b)
	vals := h.setValidators(hd, str, etagEnd, lmEnd)
	if crEnd > crStart {
		vals[2] = str[crStart:crEnd]
		hd["Content-Range"] = vals[2:3:3]
	}
	vals[3] = str[crEnd:]
	hd["Content-Length"] = vals[3:4:4]
	return h.sendBody(w, r, id, f, shared, gr, status, start, n, "")
}

// setValidators sets ETag (when etagEnd > 0) and Last-Modified from str[:etagEnd] and
// str[etagEnd:lmEnd], and returns the backing array for two more one-element values.
func (h *Handler) setValidators(hd http.Header, str string, etagEnd, lmEnd int) []string {
	vals := make([]string, 4)
	vals[0] = str[etagEnd:lmEnd]
	hd["Last-Modified"] = vals[0:1:1]
	if etagEnd > 0 {
		vals[1] = str[:etagEnd]
		hd["Etag"] = vals[1:2:2]
	}
	return vals
}

// failRange answers 416 with Content-Range: bytes */size.
func (h *Handler) failRange(w http.ResponseWriter, r *http.Request, size int64, b []byte, etagEnd, lmEnd int, msg string) (int, int64) {
	hd := w.Header()
	h.setValidators(hd, string(b), etagEnd, lmEnd)
	hd["Content-Range"] = []string{"bytes */" + itoa(size)}
	return h.fail(w, r, http.StatusRequestedRangeNotSatisfiable, msg)
}

// sendBody writes the status, prefix (when not empty) and n bytes of f from start. The copy
// goes from the request's own *os.File through one io.LimitedReader into the ResponseWriter,
// which net/http turns into sendfile(2): keep it that way (see the package doc). A shared file
// (trunk cache) goes as an *io.SectionReader instead, read with pread(2) at its own offset.
// With a rate limit the body goes in paced chunks, each sent the same way; with accounting,
// what the client acknowledges of it is reported once the client took it (or stopped).
func (h *Handler) sendBody(w http.ResponseWriter, r *http.Request, id fileid.ID, f disk.File, shared bool, gr *grant, status int, start, n int64, prefix string) (int, int64) {
	if r.Method == http.MethodHead || n == 0 {
		w.WriteHeader(status)
		return status, 0
	}
	if pos := f.Offset + start; pos != 0 && !shared { // a freshly opened file is at 0
		if _, err := f.F.Seek(pos, io.SeekStart); err != nil {
			h.cfg.Logger.Error("seek stored file", "file", f.F.Name(), "err", err)
			delete(w.Header(), "Content-Range")
			return h.fail(w, r, http.StatusInternalServerError, "cannot read the file")
		}
	}
	w.WriteHeader(status)
	// Sending the header now lets net/http skip its 512-byte sniff copy (a read and a copy)
	// and hand the whole body to sendfile.
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	var t *tally
	ww, wholeFrom := h.startWhole(w, prefix == "" && start == 0 && n == f.Size)
	if ww == nil {
		t = h.startTally(w)
	}
	var pre int64
	if prefix != "" {
		m, err := io.WriteString(w, prefix)
		if pre = int64(m); err != nil {
			return status, pre
		}
	}
	t.part(start, n)
	var written int64
	var err error
	if p := h.pacerFor(gr, r); p != nil {
		written, err = h.copyPaced(w, fl, r, f, shared, start, n, p)
	} else {
		written, err = h.copyBody(w, f, shared, start, n)
	}
	if err == nil && written < n {
		err = io.ErrUnexpectedEOF
	}
	if ww != nil {
		h.finishWhole(ww, wholeFrom, r, id, f.Size, gr)
	} else {
		h.finishTally(t, r, id, f.Size, gr)
	}
	written += pre
	if err != nil {
		h.cfg.Logger.Debug("send file", "file", f.F.Name(), "sent", written, "want", n, "err", err)
	}
	return status, written
}

// copyBody copies n bytes of f from start (the file is positioned there unless shared).
// io.Copy hands the reader to the ResponseWriter's ReadFrom as it is (an *io.LimitedReader
// around the *os.File: what sendfile needs); the pooled readers save io.CopyN's allocation.
func (h *Handler) copyBody(w io.Writer, f disk.File, shared bool, start, n int64) (int64, error) {
	if shared {
		sr := h.sections.Get().(*io.SectionReader)
		*sr = *io.NewSectionReader(f.F, f.Offset+start, n)
		written, err := io.Copy(w, sr)
		*sr = io.SectionReader{}
		h.sections.Put(sr)
		return written, err
	}
	lr := h.limited.Get().(*io.LimitedReader)
	lr.R, lr.N = f.F, n
	written, err := io.Copy(w, lr)
	lr.R = nil
	h.limited.Put(lr)
	return written, err
}

// pacerFor returns the pacer for a response to r, or nil when no limit applies.
func (h *Handler) pacerFor(gr *grant, r *http.Request) *pacer {
	if gr.live.LimitRate == 0 && gr.live.UserLimitRate == 0 && gr.rate <= 0 {
		return nil
	}
	return h.newPacer(gr, clientHost(r.RemoteAddr))
}

// copyPaced copies like copyBody in chunks, each after the pacer allows it, and flushes each
// so that a small chunk leaves at its time instead of waiting in the server's buffer.
func (h *Handler) copyPaced(w io.Writer, fl http.Flusher, r *http.Request, f disk.File, shared bool, start, n int64, p *pacer) (int64, error) {
	var written int64
	for written < n {
		c, err := p.next(r.Context(), n-written)
		if err != nil {
			return written, err
		}
		m, err := h.copyBody(w, f, shared, start+written, c)
		written += m
		if err != nil {
			return written, err
		}
		if m < c {
			return written, io.ErrUnexpectedEOF
		}
		if fl != nil {
			fl.Flush()
		}
	}
	return written, nil
}

func sumRanges(rs []byteRange) int64 {
	var t int64
	for _, r := range rs {
		t += r.length
	}
	return t
}
