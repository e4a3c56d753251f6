package token

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// sigEncoding decodes sig values: base64url without padding, refusing non-zero trailing bits
// so that one MAC has exactly one spelling.
var sigEncoding = base64.RawURLEncoding.Strict()

// ParseQuery parses the signed URL parameters of a raw query (without '?'). Pairs are split on
// '&'; names and values are percent-decoded as by url.QueryUnescape. Parameters other than
// expires, user, rate, filename and sig are ignored. It refuses with ErrURLMalformed: a bad
// percent escape in a name or in one of those values, one of them given twice, a missing
// expires or sig, an expires that is not a decimal integer (digits only, no leading zero), a
// rate that is not such an integer > 0, a user or filename over MaxURLText bytes or with a
// control character, and a sig that is not 43 characters of base64url without padding.
func ParseQuery(raw string) (c Claims, sig []byte, err error) {
	var vals [5]string // expires, user, rate, filename, sig
	var seen [5]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k, err = unescape(k); err != nil {
			return Claims{}, nil, fmt.Errorf("%w: parameter name: %w", ErrURLMalformed, err)
		}
		i := paramIndex(k)
		if i < 0 {
			continue
		}
		if seen[i] {
			return Claims{}, nil, fmt.Errorf("%w: %s given twice", ErrURLMalformed, k)
		}
		seen[i] = true
		if vals[i], err = unescape(v); err != nil {
			return Claims{}, nil, fmt.Errorf("%w: %s: %w", ErrURLMalformed, k, err)
		}
	}
	if !seen[0] {
		return Claims{}, nil, fmt.Errorf("%w: expires missing", ErrURLMalformed)
	}
	if !seen[4] {
		return Claims{}, nil, fmt.Errorf("%w: sig missing", ErrURLMalformed)
	}
	return parseClaims(vals, seen[2])
}

// params are the names of the signed URL parameters, in the order of ParseQuery's vals.
var params = [5]string{"expires", "user", "rate", "filename", "sig"}

func paramIndex(k string) int {
	for i, p := range params {
		if k == p {
			return i
		}
	}
	return -1
}

// parseClaims checks and converts the decoded values of ParseQuery;
// hasRate says whether the query named a rate, which then must be > 0.
func parseClaims(vals [5]string, hasRate bool) (c Claims, sig []byte, err error) {
	var ok bool
	if c.Expires, ok = parseDecimal(vals[0]); !ok {
		return Claims{}, nil, fmt.Errorf("%w: expires %s is not a decimal Unix time", ErrURLMalformed, clip(vals[0]))
	}
	if hasRate {
		if c.Rate, ok = parseDecimal(vals[2]); !ok || c.Rate == 0 {
			return Claims{}, nil, fmt.Errorf("%w: rate %s is not a decimal number of bytes per second > 0", ErrURLMalformed, clip(vals[2]))
		}
	}
	c.User, c.Filename = vals[1], vals[3]
	if err := c.Validate(); err != nil {
		return Claims{}, nil, err
	}
	s := vals[4]
	if len(s) != sigLen {
		return Claims{}, nil, fmt.Errorf("%w: sig is %d characters, want %d of base64url", ErrURLMalformed, len(s), sigLen)
	}
	sig, err = sigEncoding.DecodeString(s)
	if err != nil || len(sig) != sha256.Size {
		return Claims{}, nil, fmt.Errorf("%w: sig %s is not base64url without padding", ErrURLMalformed, clip(s))
	}
	return c, sig, nil
}

// parseDecimal parses a non-negative decimal int64 written with digits only and no leading
// zero (so that a value has one spelling).
func parseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// unescape percent-decodes s when it holds an escape or '+'.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// clip quotes at most 64 bytes of s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
