package httpd

import (
	"crypto/subtle"
	"net/http"

	"github.com/depotfs/depot/internal/token"
)

// msgMD5Refused answers an md5 token (or no credential) when TokenConfig.RefuseMD5 is on.
const msgMD5Refused = "md5 tokens are refused (http.anti_steal.refuse_md5_token): sign with Depot's signed URL"

// checkToken applies the anti-steal check to remote (the file ID without group, as in the
// URL). A query with sig= is a Depot signed URL, checked over the whole URL path; its user,
// rate and file name go into gr. Any other query is an md5 token, refused outright with
// RefuseMD5. ok is true when the request may proceed; otherwise status is 400 (missing
// token or ts, md5 refused, or a bad credential with no token_check_fail file) or 200 (serve
// the token_check_fail file).
func (h *Handler) checkToken(r *http.Request, remote string, gr *grant) (status int, msg string, ok bool) {
	lc := gr.live
	tc := &lc.Token
	if lc.bypassed(r) {
		h.honourSigned(r, gr)
		return 0, "", true
	}
	if hasQueryKey(r.URL.RawQuery, "sig") {
		return h.checkSigned(r, gr)
	}
	if tc.RefuseMD5 {
		return http.StatusBadRequest, msgMD5Refused, false
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
	if lc.checkFail != nil {
		return http.StatusOK, "", false
	}
	return http.StatusBadRequest, "anti-steal token rejected: " + err.Error(), false
}

// checkSigned verifies r's signed URL query and fills gr from it; a failure is refused like a
// bad md5 token.
func (h *Handler) checkSigned(r *http.Request, gr *grant) (status int, msg string, ok bool) {
	c, err := token.VerifyQuery(gr.live.Token.Secret, r.URL.Path, r.URL.RawQuery, h.cfg.Now())
	if err != nil {
		if gr.live.checkFail != nil {
			return http.StatusOK, "", false
		}
		return http.StatusBadRequest, "signed URL rejected: " + err.Error(), false
	}
	gr.fromClaims(c)
	return 0, "", true
}

// honourSigned gives a request the check does not apply to (check off, or the bypass header)
// the user, rate and file name of its signed URL when it carries one that verifies against
// the configured secret. Without a secret or sig= it does nothing; an invalid signed URL is
// ignored and the request stays anonymous.
func (h *Handler) honourSigned(r *http.Request, gr *grant) {
	secret := gr.live.Token.Secret
	if secret == "" || !hasQueryKey(r.URL.RawQuery, "sig") {
		return
	}
	c, err := token.VerifyQuery(secret, r.URL.Path, r.URL.RawQuery, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.Debug("signed URL ignored: the request is anonymous", "path", r.URL.Path, "err", err)
		return
	}
	gr.fromClaims(c)
}

// fromClaims takes the user, rate and file name of a verified signed URL.
func (g *grant) fromClaims(c token.Claims) {
	g.user, g.rate, g.filename = c.User, c.Rate, c.Filename
}

// bypassed reports whether r carries the token-bypass header with its configured value.
func (lc *liveConfig) bypassed(r *http.Request) bool {
	if lc.bypassKey == "" {
		return false
	}
	v := r.Header[lc.bypassKey]
	return len(v) > 0 && subtle.ConstantTimeCompare([]byte(v[0]), []byte(lc.Token.BypassValue)) == 1
}
