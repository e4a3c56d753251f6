package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// URLVersion is the first line of the canonical string of a signed URL.
const URLVersion = "depot-v1"

// MaxURLText is the longest user or filename, in bytes, a signed URL carries.
const MaxURLText = 256

// sigLen is the length of a sig value: a SHA-256 MAC in base64url without padding.
var sigLen = base64.RawURLEncoding.EncodedLen(sha256.Size)

// Errors of signed URLs, returned wrapped with what failed.
var (
	ErrURLMalformed = errors.New("token: malformed signed URL")
	ErrURLMismatch  = errors.New("token: signed URL signature does not match")
	ErrURLExpired   = errors.New("token: signed URL expired")
)

// Claims are the signed values of a signed URL besides its path.
type Claims struct {
	Expires  int64  // absolute Unix seconds, >= 0
	User     string // "" = none
	Rate     int64  // bytes per second, 0 = none
	Filename string // "" = none
}

// Validate checks c against the rules VerifyQuery applies to a query.
func (c Claims) Validate() error {
	if c.Expires < 0 {
		return fmt.Errorf("%w: expires %d is negative", ErrURLMalformed, c.Expires)
	}
	if c.Rate < 0 {
		return fmt.Errorf("%w: rate %d is negative", ErrURLMalformed, c.Rate)
	}
	if err := checkText("user", c.User); err != nil {
		return err
	}
	return checkText("filename", c.Filename)
}

// checkText refuses a user or filename longer than MaxURLText bytes or with a control character.
func checkText(name, v string) error {
	if len(v) > MaxURLText {
		return fmt.Errorf("%w: %s is %d bytes, more than %d", ErrURLMalformed, name, len(v), MaxURLText)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s %s has a control character at byte %d", ErrURLMalformed, name, clip(v), i)
		}
	}
	return nil
}

// SignQuery returns the query (without '?') that signs path with c:
// "expires=E[&user=U][&rate=R][&filename=F]&sig=S", the optional values present when not
// empty or zero. It fails when c is not valid.
func SignQuery(secret, path string, c Claims) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("sign %q: %w", path, err)
	}
	var b strings.Builder
	b.WriteString("expires=")
	b.WriteString(strconv.FormatInt(c.Expires, 10))
	if c.User != "" {
		b.WriteString("&user=")
		b.WriteString(url.QueryEscape(c.User))
	}
	if c.Rate > 0 {
		b.WriteString("&rate=")
		b.WriteString(strconv.FormatInt(c.Rate, 10))
	}
	if c.Filename != "" {
		b.WriteString("&filename=")
		b.WriteString(url.QueryEscape(c.Filename))
	}
	b.WriteString("&sig=")
	b.WriteString(base64.RawURLEncoding.EncodeToString(mac(secret, path, c)))
	return b.String(), nil
}

// mac returns HMAC-SHA256(secret, canonical string of path and c).
func mac(secret, path string, c Claims) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	writeCanonical(m, path, c)
	return m.Sum(nil)
}

// writeCanonical writes the canonical string of path and c to m.
func writeCanonical(m hash.Hash, path string, c Claims) {
	var num [20]byte
	io.WriteString(m, URLVersion+"\n")
	io.WriteString(m, path)
	m.Write([]byte{'\n'})
	m.Write(strconv.AppendInt(num[:0], c.Expires, 10))
	m.Write([]byte{'\n'})
	io.WriteString(m, c.User)
	m.Write([]byte{'\n'})
	if c.Rate > 0 {
		m.Write(strconv.AppendInt(num[:0], c.Rate, 10))
	}
	m.Write([]byte{'\n'})
	io.WriteString(m, c.Filename)
}

// VerifyQuery checks the signed URL query rawQuery (without '?') for path against now: its
// form (ErrURLMalformed, see ParseQuery), then the signature in constant time
// (ErrURLMismatch), then the expiry now > expires (ErrURLExpired). It returns the claims of
// a URL that passes. Errors name the path but never the secret or the expected signature.
func VerifyQuery(secret, path, rawQuery string, now time.Time) (Claims, error) {
	c, sig, err := ParseQuery(rawQuery)
	if err != nil {
		return Claims{}, fmt.Errorf("%w, for %q", err, path)
	}
	if !hmac.Equal(sig, mac(secret, path, c)) {
		return Claims{}, fmt.Errorf("%w, for %q expiring at %d", ErrURLMismatch, path, c.Expires)
	}
	if n := now.Unix(); n > c.Expires {
		return Claims{}, fmt.Errorf("%w at %d, now %d, for %q", ErrURLExpired, c.Expires, n, path)
	}
	return c, nil
}
