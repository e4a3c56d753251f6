package httpd

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/token"
)

// accelPassHeaders are the app's headers that go with the file an X-Accel-Redirect names
// (as in nginx); Content-Type and Content-Disposition go through the grant.
var accelPassHeaders = [...]string{"Cache-Control", "Expires", "Set-Cookie"}

// serveAccelRedirect serves the stored file the app named in its X-Accel-Redirect answer
// (header app) for r, through the same path as a normal download minus the credential check:
// the client's Range and conditional headers apply. What the app grants is merged into gr.
func (h *Handler) serveAccelRedirect(w http.ResponseWriter, r *http.Request, app http.Header, loc string, gr *grant) (int, int64) {
	rr, groupName, remote, err := h.accelTarget(r, loc, &gr.live.Token)
	if err != nil {
		h.xaccel.log.Warn("x-accel: bad X-Accel-Redirect from the app", "uri", r.RequestURI, "err", err)
		return h.fail(w, r, http.StatusBadGateway, "the app answered a bad X-Accel-Redirect: "+err.Error())
	}
	granted := grant{user: app.Get("X-Depot-User"), disposition: app.Get("Content-Disposition"), ctype: app.Get("Content-Type")}
	if v := app.Get("X-Accel-Limit-Rate"); v != "" {
		if granted.rate, err = parseRate(v); err != nil {
			h.xaccel.log.Warn("x-accel: bad X-Accel-Limit-Rate from the app", "uri", r.RequestURI, "err", err)
			return h.fail(w, r, http.StatusBadGateway, "the app answered a bad X-Accel-Limit-Rate: "+err.Error())
		}
	}
	gr.merge(granted)
	hd := w.Header()
	for _, k := range accelPassHeaders {
		if v := app[k]; len(v) > 0 {
			hd[k] = v
		}
	}
	return h.serveStored(w, rr, groupName, remote, gr)
}

// accelTarget checks an X-Accel-Redirect value ("/group1/M00/00/00/<name>[?query]" in this
// node's URL form) and returns a copy of r for that path and query, with its group segment and
// remote file name. When tokens are checked, the copy carries a fresh token for remote, so that
// a file fetched from its source node passes there (the app decided).
func (h *Handler) accelTarget(r *http.Request, loc string, tc *TokenConfig) (rr *http.Request, groupName, remote string, err error) {
	rawPath, query, _ := strings.Cut(loc, "?")
	p, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, "", "", fmt.Errorf("%q: %w", loc, err)
	}
	if strings.Contains(p, "..") {
		return nil, "", "", fmt.Errorf("%q: .. is not allowed", loc)
	}
	groupName, remote, ok := splitPath(p, h.cfg.URLHaveGroupName)
	if !ok || len(remote) < minRemote {
		return nil, "", "", fmt.Errorf("%q is not a file URL of this node", loc)
	}
	idGroup := groupName
	if !h.cfg.URLHaveGroupName {
		idGroup = h.cfg.Groups[0].Name
	}
	if _, err := fileid.ParseRemote(idGroup, remote); err != nil {
		return nil, "", "", fmt.Errorf("%q: %w", loc, err)
	}
	if _, has := queryValue(query, "token"); tc.Check && !has {
		ts := h.cfg.Now().Unix()
		if query != "" {
			query += "&"
		}
		query += "token=" + token.Sign(tc.Secret, remote, ts) + "&ts=" + itoa(ts)
	}
	rr = new(http.Request)
	*rr = *r
	rr.URL = &url.URL{Path: p, RawQuery: query}
	rr.RequestURI = loc
	return rr, groupName, remote, nil
}
