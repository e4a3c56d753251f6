package token

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("token: malformed (want 32 lower-case hex digits)")
	ErrMismatch  = errors.New("token: does not match")
	ErrExpired   = errors.New("token: expired")
	ErrZeroTS    = errors.New("token: ts=0 (never expires) refused")
	ErrFutureTS  = errors.New("token: ts in the future refused")
)

// Len is the length of a token: 32 lower-case hex digits.
const Len = 2 * md5.Size

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
func Sign(secret, fileID string, ts int64) string {
	sum := digest(secret, fileID, ts)
	return hex.EncodeToString(sum[:])
}

// digest is md5(fileID + secret + decimal ts), computed in a stack buffer.
func digest(secret, fileID string, ts int64) [md5.Size]byte {
	var buf [256]byte
	b := append(buf[:0], fileID...)
	b = append(b, secret...)
	b = strconv.AppendInt(b, ts, 10)
	return md5.Sum(b)
}

// Verify checks tok for fileID at ts against now, in constant time. It checks, in order:
// the token's form (ErrMalformed), ts=0 (ErrZeroTS, only with RefuseZeroTS), a future ts
// (ErrFutureTS, only with RefuseFutureTS), age now-ts over TTL for ts != 0 (ErrExpired),
// then the digest (ErrMismatch). Errors name the file ID but never the secret.
func Verify(secret, fileID, tok string, ts int64, now time.Time, p Policy) error {
	var got [md5.Size]byte
	if !decodeLowerHex(got[:], tok) {
		return fmt.Errorf("%w: token %q for %q", ErrMalformed, tok, fileID)
	}
	nowUnix := now.Unix()
	if ts == 0 && p.RefuseZeroTS {
		return fmt.Errorf("%w: %q", ErrZeroTS, fileID)
	}
	if p.RefuseFutureTS && ts > satAdd(nowUnix, int64(p.FutureSkew/time.Second)) {
		return fmt.Errorf("%w: ts %d for %q, now %d", ErrFutureTS, ts, fileID, nowUnix)
	}
	// now - ts > ttl, written so that it cannot overflow.
	if ts != 0 && ts < satAdd(nowUnix, -int64(p.TTL/time.Second)) {
		return fmt.Errorf("%w: ts %d for %q, now %d, ttl %v", ErrExpired, ts, fileID, nowUnix, p.TTL)
	}
	want := digest(secret, fileID, ts)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: %q at ts %d", ErrMismatch, fileID, ts)
	}
	return nil
}

// satAdd returns a+b, saturated at the int64 bounds.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}

// decodeLowerHex decodes exactly len(dst)*2 lower-case hex digits from s.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHexVal(s[2*i])
		lo, ok2 := lowerHexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// ParseTS parses a ts query value the way FastDFS does (atoi: leading digits, junk ignored,
// no digits = 0).
//
// In detail: leading white space (space, \t \n \v \f \r) is skipped, one optional '+' or '-'
// is read, then decimal digits up to the first other char. A value outside int64 saturates
// at math.MaxInt64 or math.MinInt64 (FastDFS keeps the low 32 bits of its C long instead).
func ParseTS(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64 // magnitude, capped at 2^63
	const limit = uint64(1) << 63
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v > limit/10 {
			v = limit + 1 // saturated; keep reading digits
			continue
		}
		v = v*10 + uint64(s[i]-'0')
	}
	switch {
	case neg && v >= limit:
		return math.MinInt64
	case neg:
		return -int64(v)
	case v >= limit:
		return math.MaxInt64
	}
	return int64(v)
}
