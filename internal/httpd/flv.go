package httpd

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// errFLVParam: ?start= or ?end= of an FLV request is not an integer or selects no bytes (400).
var errFLVParam = errors.New("bad FLV start/end parameter")

// flvHeader is the 13-byte FLV file header (signature, version 1, audio+video flags, header
// size 9, first PreviousTagSize 0) sent before the data of an FLV request that starts past 0.
const flvHeader = "FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x09"

// flvRange reads the ?start= (and optional exclusive ?end=) pseudo-streaming parameters of an
// FLV request. ok is false when the request carries no start parameter (serve normally); err
// is set when start or end are not integers or do not select bytes of the file (400).
func flvRange(rawQuery string, size int64) (start, n int64, ok bool, err error) {
	s, ok := queryValue(rawQuery, "start")
	if !ok {
		return 0, 0, false, nil
	}
	start, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || start < 0 || start >= size {
		return 0, 0, true, errFLVParam
	}
	end := size
	if e, has := queryValue(rawQuery, "end"); has {
		v, perr := strconv.ParseInt(e, 10, 64)
		if perr != nil || v <= start {
			return 0, 0, true, errFLVParam
		}
		end = min(v, size)
	}
	return start, end - start, true, nil
}

// serveFLV answers an FLV pseudo-streaming request with 200: the FLV header (when start > 0,
// counted in Content-Length) followed by bytes [start, start+n) of the file, sent like a
// single range. The response is not the stored entity, so it carries no ETag.
func (h *Handler) serveFLV(w http.ResponseWriter, r *http.Request, id fileid.ID, f disk.File, shared bool, gr *grant, lastMod string, start, n int64) (int, int64) {
	hd := w.Header()
	total := n
	if start > 0 {
		total += int64(len(flvHeader))
	}
	hd["Last-Modified"] = []string{lastMod}
	hd["Content-Length"] = []string{itoa(total)}
	if start == 0 {
		return h.sendBody(w, r, id, f, shared, gr, http.StatusOK, 0, n, "")
	}
	return h.sendBody(w, r, id, f, shared, gr, http.StatusOK, start, n, flvHeader)
}
