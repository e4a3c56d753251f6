package client

import (
	"fmt"
	"strings"
	"time"

	"github.com/depotfs/depot/internal/token"
)

// SignOptions are the signed values of a Depot signed URL (SignedURLWith).
type SignOptions struct {
	// Expires is when the URL stops working (required; kept to the second). The storage
	// refuses the URL once its clock is past it.
	Expires time.Time
	// User names whom the download is for: the storage's per-user rate limit
	// (http.user_limit_rate) and download accounting count it. "" = none.
	User string
	// Rate is the user's bytes per second, replacing http.user_limit_rate. 0 = none.
	Rate int64
	// Filename is the name the browser saves the file under (Content-Disposition:
	// attachment). "" = none.
	Filename string
}

// SignedURLWith returns base + "/" + fileID + "?expires=...&sig=..." signed with secret as
// a Depot signed URL (HMAC-SHA256 over the URL path, expiry, user, rate and file name; see
// docs/signed-urls.md). fileID keeps its group ("group1/M00/..."), a leading slash is
// dropped; the path signed is "/" + fileID, the path the storage sees. base may be "" to get
// just the path and query.
//
// It fails with ErrInvalid when Expires is zero or before 1970, Rate is negative, or User or
// Filename is longer than 256 bytes or has a control character. The storage accepts these
// URLs when its http.anti_steal.secret_key is secret; unlike SignedURL's md5 tokens they
// still pass with http.anti_steal.refuse_md5_token.
func SignedURLWith(secret, base, fileID string, o SignOptions) (string, error) {
	if o.Expires.IsZero() {
		return "", fmt.Errorf("%w: signed URL for %q: SignOptions.Expires is required", ErrInvalid, fileID)
	}
	path := "/" + strings.TrimPrefix(fileID, "/")
	c := token.Claims{Expires: o.Expires.Unix(), User: o.User, Rate: o.Rate, Filename: o.Filename}
	q, err := token.SignQuery(secret, path, c)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return strings.TrimSuffix(base, "/") + path + "?" + q, nil
}

// SignedURLWith returns the package-level SignedURLWith signed with Config.Secret.
func (c *Client) SignedURLWith(base, fileID string, o SignOptions) (string, error) {
	return SignedURLWith(c.secret, base, fileID, o)
}
