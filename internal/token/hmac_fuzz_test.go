package token

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// FuzzVerifyQuery feeds arbitrary queries to the parser and verifier: whatever passes must be
// exactly what SignQuery writes for its claims, and every error wraps one sentinel.
func FuzzVerifyQuery(f *testing.F) {
	f.Add(vecPath, vecQuery, int64(vecExp))
	f.Add(vecPath, vecMin, int64(0))
	f.Add(vecPath, "expires=1&user=%zz&sig=x", int64(0))
	f.Add("/g/M00/00/00/a\nb", "a=1&&expires=0&rate=01&us%65r=a+b&sig="+vecSig, int64(-1))
	f.Add("", "expires=9223372036854775807&filename=%E2%82%AC&sig="+vecMinSig, int64(1<<62))
	f.Fuzz(func(t *testing.T, path, raw string, now int64) {
		c, sig, perr := ParseQuery(raw)
		vc, err := VerifyQuery(secret, path, raw, time.Unix(now, 0))
		if !errors.Is(err, ErrURLMalformed) && !errors.Is(err, ErrURLMismatch) && !errors.Is(err, ErrURLExpired) && err != nil {
			t.Fatalf("VerifyQuery(%q) = %v: no sentinel", raw, err)
		}
		if (perr != nil) != errors.Is(err, ErrURLMalformed) {
			t.Fatalf("ParseQuery error %v, VerifyQuery error %v", perr, err)
		}
		if perr != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseQuery(%q) gave invalid claims %+v: %v", raw, c, err)
		}
		// The parsed claims sign back into a query that parses to the same claims.
		q, err2 := SignQuery(secret, path, c)
		if err2 != nil {
			t.Fatalf("SignQuery(%+v) = %v", c, err2)
		}
		c2, sig2, err2 := ParseQuery(q)
		if err2 != nil || c2 != c {
			t.Fatalf("ParseQuery(SignQuery(%+v)) = %+v, %v", c, c2, err2)
		}
		if err == nil {
			if vc != c || now > c.Expires || !bytes.Equal(sig, sig2) {
				t.Fatalf("VerifyQuery(%q) at %d accepted %+v; signing gives %q", raw, now, vc, q)
			}
		}
	})
}

// FuzzSignQuery signs arbitrary claims: a valid set verifies to itself until it expires, and
// not for another path.
func FuzzSignQuery(f *testing.F) {
	f.Add(vecPath, "alice", "report 2026.pdf", int64(1048576), int64(vecExp))
	f.Add("", "", "", int64(0), int64(0))
	f.Add("/a\nb", "a&b=c", "%zz+", int64(-1), int64(-1))
	f.Fuzz(func(t *testing.T, path, user, filename string, rate, expires int64) {
		c := Claims{Expires: expires, User: user, Rate: rate, Filename: filename}
		q, err := SignQuery(secret, path, c)
		if verr := c.Validate(); (err == nil) != (verr == nil) {
			t.Fatalf("SignQuery error %v, Validate error %v", err, verr)
		}
		if err != nil {
			if !errors.Is(err, ErrURLMalformed) {
				t.Fatalf("SignQuery(%+v) = %v: not ErrURLMalformed", c, err)
			}
			return
		}
		got, err := VerifyQuery(secret, path, q, time.Unix(expires, 0))
		if err != nil || got != c {
			t.Fatalf("VerifyQuery(%q) = %+v, %v; want %+v", q, got, err, c)
		}
		if _, err := VerifyQuery(secret, path+"x", q, time.Unix(expires, 0)); !errors.Is(err, ErrURLMismatch) {
			t.Fatalf("VerifyQuery for another path = %v; want ErrURLMismatch", err)
		}
		if expires < 1<<62 {
			if _, err := VerifyQuery(secret, path, q, time.Unix(expires+1, 0)); !errors.Is(err, ErrURLExpired) {
				t.Fatalf("VerifyQuery after expiry = %v; want ErrURLExpired", err)
			}
		}
	})
}
