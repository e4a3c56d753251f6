package stats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Referers is an allow-list of Referer host names (http.stats.allow_referers,
// http.download.allow_referers): empty admits every request; "none" in the list admits
// requests without a Referer; otherwise the Referer's host must be one of the names
// (case-insensitive, port ignored).
type Referers []string

// ParseReferers splits a comma-separated list.
func ParseReferers(s string) Referers {
	var out Referers
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Allows reports whether a request with this Referer header value ("" = none) is admitted.
func (l Referers) Allows(referer string) bool {
	if len(l) == 0 {
		return true
	}
	host := ""
	if referer != "" {
		if u, err := url.Parse(referer); err == nil {
			host = strings.ToLower(u.Hostname())
		}
	}
	for _, name := range l {
		if (name == "none" && referer == "") || (host != "" && name == host) {
			return true
		}
	}
	return false
}

// apiError is the JSON body of a refused /stats or /event.png request.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// refuse answers a request whose Referer the allow-list refused: 401 with code 40010.
func refuse(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusUnauthorized, apiError{"40010", fmt.Sprintf("referer %q is not allowed (http.stats.allow_referers)", r.Referer())})
}

// API serves GET /event.png (the beacon) and GET /stats (the query) for a Recorder.
type API struct {
	rec     *Recorder
	allow   atomic.Pointer[Referers] // swapped by SetReferers
	maxDays int
	pixel   []byte
}

// NewAPI returns the handlers of rec, guarded by allow; a /stats range may span at most
// maxDays days (0 = 366).
func NewAPI(rec *Recorder, allow Referers, maxDays int) *API {
	if maxDays <= 0 {
		maxDays = 366
	}
	var buf bytes.Buffer
	png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 1, 1))) // 1×1, transparent
	a := &API{rec: rec, maxDays: maxDays, pixel: buf.Bytes()}
	a.allow.Store(&allow)
	return a
}

// SetReferers replaces the Referer allow-list for the requests that start from now on
// (http.stats.allow_referers reloaded). It is safe to call while a serves.
func (a *API) SetReferers(allow Referers) { a.allow.Store(&allow) }

// allows reports whether the allow-list in force admits r.
func (a *API) allows(r *http.Request) bool { return a.allow.Load().Allows(r.Referer()) }

// ServeBeacon counts one hit of /event.png?category=…&action=…&label=…&value=… and answers a
// 1×1 PNG that is never cached; a bad key is 400 (JSON).
func (a *API) ServeBeacon(w http.ResponseWriter, r *http.Request) {
	if !a.allows(r) {
		refuse(w, r)
		return
	}
	q := r.URL.Query()
	keys, err := BeaconKeys(q.Get("category"), q.Get("action"), q.Get("label"), q.Get("value"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"40000", err.Error()})
		return
	}
	a.rec.Beacon(keys)
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", fmt.Sprint(len(a.pixel)))
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate")
	h.Set("Expires", "0")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.pixel)
	}
}

// Row is one element of the /stats answer.
type Row struct {
	EventDate string           `json:"eventDate"`
	EventKey  string           `json:"eventKey"`
	EventData map[string]int64 `json:"eventData"`
}

// ServeStats answers GET /stats?from=YYYY-MM-DD&to=YYYY-MM-DD[&prefix=KEY] with a JSON array of
// rows sorted by date and key.
func (a *API) ServeStats(w http.ResponseWriter, r *http.Request) {
	if !a.allows(r) {
		refuse(w, r)
		return
	}
	q := r.URL.Query()
	from, err1 := time.Parse(time.DateOnly, q.Get("from"))
	to, err2 := time.Parse(time.DateOnly, q.Get("to"))
	switch {
	case err1 != nil || err2 != nil:
		writeJSON(w, http.StatusBadRequest, apiError{"40000", fmt.Sprintf("from %q and to %q must be dates YYYY-MM-DD", q.Get("from"), q.Get("to"))})
		return
	case to.Before(from):
		writeJSON(w, http.StatusBadRequest, apiError{"40000", fmt.Sprintf("to %s is before from %s", q.Get("to"), q.Get("from"))})
		return
	case int(to.Sub(from).Hours()/24)+1 > a.maxDays:
		writeJSON(w, http.StatusBadRequest, apiError{"40000", fmt.Sprintf("%s..%s spans more than %d days (http.stats.max_days)", q.Get("from"), q.Get("to"), a.maxDays)})
		return
	}
	rows, err := a.rec.Query(q.Get("from"), q.Get("to"), q.Get("prefix"))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{"50000", "stats: " + err.Error()})
		return
	}
	out := make([]Row, len(rows))
	for i, row := range rows {
		out[i] = Row{row.Day, row.Key, row.Data}
	}
	writeJSON(w, http.StatusOK, out)
}
