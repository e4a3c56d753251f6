package httpd

import (
	"crypto/subtle"
	"net/http"

	"github.com/depotfs/depot/internal/token"
)

// checkToken applies the anti-steal check to remote (the file ID without group, as in the
// URL). ok is true when the request may proceed; otherwise status is 400 (missing token or ts,
// or a bad token with no token_check_fail file) or 200 (serve the token_check_fail file).
func (h *Handler) checkToken(r *http.Request, remote string, gr *grant) (status int, msg string, ok bool) {
	tc := &h.cfg.Token
	if h.bypassed(r) {
		return 0, "", true
	}
	tok, okTok := queryValue(r.URL.RawQuery, "token")
	tsRaw, okTS := queryValue(r.URL.RawQuery, "ts")
	if !okTok || !okTS {
		return http.StatusBadRequest, "anti-steal token required: add token= and ts= to the query", false
	}
	policy := token.Policy{
		TTL:            tc.TTL,
		RefuseZeroTS:   tc.RefuseZeroTS,
		RefuseFutureTS: tc.RefuseFutureTS,
		FutureSkew:     tc.FutureSkew,
	}
	err := token.Verify(tc.Secret, remote, tok, token.ParseTS(tsRaw), h.cfg.Now(), policy)
	if err == nil {
		return 0, "", true
	}
	if h.checkFail != nil {
		return http.StatusOK, "", false
	}
	return http.StatusBadRequest, "anti-steal token rejected: " + err.Error(), false
}

// bypassed reports whether r carries the token-bypass header with its configured value.
func (h *Handler) bypassed(r *http.Request) bool {
	if h.bypassKey == "" {
		return false
	}
	v := r.Header[h.bypassKey]
	return len(v) > 0 && subtle.ConstantTimeCompare([]byte(v[0]), []byte(h.cfg.Token.BypassValue)) == 1
}
