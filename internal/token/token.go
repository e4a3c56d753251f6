// Package token signs and verifies FastDFS anti-steal tokens:
// md5(fileIDWithoutGroup + secret + decimal ts) as 32 lower-case hex digits.
// It is pure: the current time is passed in.
package token

import (
	"errors"
	"time"
)

// THE BODIES BELOW ARE STUBS: the implementer replaces them.

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("token: malformed (want 32 lower-case hex digits)")
	ErrMismatch  = errors.New("token: does not match")
	ErrExpired   = errors.New("token: expired")
	ErrZeroTS    = errors.New("token: ts=0 (never expires) refused")
	ErrFutureTS  = errors.New("token: ts in the future refused")
)

// Policy says how strictly Verify checks a token's timestamp.
type Policy struct {
	TTL time.Duration // http.anti_steal.token_ttl
	// RefuseZeroTS refuses ts=0, which FastDFS treats as "never expires".
	RefuseZeroTS bool
	// RefuseFutureTS refuses ts later than now+FutureSkew, which FastDFS always accepts.
	RefuseFutureTS bool
	FutureSkew     time.Duration
}

// Sign returns the token for fileID (without group, e.g. "M00/00/00/x.jpg") at ts.
func Sign(secret, fileID string, ts int64) string { return "" }

// Verify checks tok for fileID at ts against now, in constant time.
func Verify(secret, fileID, tok string, ts int64, now time.Time, p Policy) error {
	return errors.New("token: not implemented")
}

// ParseTS parses a ts query value the way FastDFS does (atoi: leading digits, junk ignored,
// no digits = 0).
func ParseTS(s string) int64 { return 0 }
