package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// The signed URL vector. vecSig was computed once in a shell, apart from this package:
//
//	printf 'depot-v1\n/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin\n1795430000\nalice\n1048576\nreport 2026.pdf' |
//	  openssl dgst -sha256 -hmac FastDFS1234567890 -binary | openssl base64 -A | tr '+/' '-_' | tr -d =
//
// and vecMinSig likewise for the canonical string with only the path and expires.
const (
	vecPath   = "/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	vecExp    = 1795430000
	vecSig    = "GMOTautl8cqFbVQ7CLlTM9Zkrylevf8Q_aj_ByREMnE"
	vecQuery  = "expires=1795430000&user=alice&rate=1048576&filename=report+2026.pdf&sig=" + vecSig
	vecMinSig = "wfz2hw1Vnl2vqgfHXdMAWjpvCEODkidHfQoneWWUFkE"
	vecMin    = "expires=1795430000&sig=" + vecMinSig
)

var vecClaims = Claims{Expires: vecExp, User: "alice", Rate: 1048576, Filename: "report 2026.pdf"}

func TestSignQueryVectors(t *testing.T) {
	tests := []struct {
		name string
		c    Claims
		want string
	}{
		{"all values", vecClaims, vecQuery},
		{"expires only", Claims{Expires: vecExp}, vecMin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignQuery(secret, vecPath, tt.c)
			if err != nil || got != tt.want {
				t.Errorf("SignQuery = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSignQueryHMAC recomputes the vector's MAC with crypto/hmac over a literal canonical string.
func TestSignQueryHMAC(t *testing.T) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("depot-v1\n" + vecPath + "\n1795430000\nalice\n1048576\nreport 2026.pdf"))
	want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	if want != vecSig {
		t.Fatalf("crypto/hmac gives %s, openssl gave %s", want, vecSig)
	}
	q, err := SignQuery(secret, vecPath, vecClaims)
	if err != nil || !strings.HasSuffix(q, "&sig="+want) {
		t.Errorf("SignQuery = %q, %v; want sig %s", q, err, want)
	}
}

func TestSignQueryInvalid(t *testing.T) {
	for _, c := range []Claims{
		{Expires: -1},
		{Expires: vecExp, Rate: -1},
		{Expires: vecExp, User: "a\nb"},
		{Expires: vecExp, Filename: "x\x7f.pdf"},
		{Expires: vecExp, Filename: strings.Repeat("f", MaxURLText+1)},
	} {
		if q, err := SignQuery(secret, vecPath, c); !errors.Is(err, ErrURLMalformed) {
			t.Errorf("SignQuery(%+v) = %q, %v; want ErrURLMalformed", c, q, err)
		}
	}
}

// TestVerifyQuery checks the vector, tampered copies of it and malformed queries.
func TestVerifyQuery(t *testing.T) {
	now := time.Unix(vecExp-1000, 0)
	other, _ := SignQuery("other secret", vecPath, vecClaims)
	long := strings.Repeat("u", MaxURLText)
	longQ, _ := SignQuery(secret, vecPath, Claims{Expires: vecExp, User: long, Filename: long})
	tests := []struct {
		name, path, query string
		now               time.Time
		want              error
	}{
		{"good", vecPath, vecQuery, now, nil},
		{"expires only", vecPath, vecMin, now, nil},
		{"at expiry", vecPath, vecQuery, time.Unix(vecExp, 999e6), nil},
		{"other order, other params", vecPath, "a=1&sig=" + vecSig + "&filename=report%202026.pdf&token=x&rate=1048576&user=alice&ts=1&expires=1795430000", now, nil},
		{"escaped name", vecPath, strings.Replace(vecQuery, "user=", "us%65r=", 1), now, nil},
		{"empty pairs", vecPath, "&&" + vecQuery + "&", now, nil},
		{"256-byte user and filename", vecPath, longQ, now, nil},
		{"expired", vecPath, vecQuery, time.Unix(vecExp+1, 0), ErrURLExpired},
		{"tampered user", vecPath, strings.Replace(vecQuery, "alice", "alicf", 1), now, ErrURLMismatch},
		{"tampered rate", vecPath, strings.Replace(vecQuery, "1048576", "2097152", 1), now, ErrURLMismatch},
		{"rate dropped", vecPath, strings.Replace(vecQuery, "&rate=1048576", "", 1), now, ErrURLMismatch},
		{"tampered expires", vecPath, strings.Replace(vecQuery, "1795430000", "1795430001", 1), now, ErrURLMismatch},
		{"tampered filename", vecPath, strings.Replace(vecQuery, "report", "Report", 1), now, ErrURLMismatch},
		{"filename added", vecPath, vecMin + "&filename=x.exe", now, ErrURLMismatch},
		{"user added", vecPath, vecMin + "&user=alice", now, ErrURLMismatch},
		{"other path", "/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI008.bin", vecQuery, now, ErrURLMismatch},
		{"other group", "/group2" + vecPath[len("/group1"):], vecQuery, now, ErrURLMismatch},
		{"path without group", vecPath[len("/group1"):], vecQuery, now, ErrURLMismatch},
		{"other secret", vecPath, other, now, ErrURLMismatch},
		{"tampered sig", vecPath, strings.Replace(vecQuery, "GMOT", "GMOU", 1), now, ErrURLMismatch},
		{"sig padded", vecPath, vecQuery + "=", now, ErrURLMalformed},
		{"sig std base64", vecPath, strings.ReplaceAll(vecQuery, "_", "/"), now, ErrURLMalformed},
		{"sig trailing bits", vecPath, strings.TrimSuffix(vecQuery, "E") + "F", now, ErrURLMalformed},
		{"sig short", vecPath, strings.TrimSuffix(vecQuery, "E"), now, ErrURLMalformed},
		{"sig empty", vecPath, "expires=1795430000&sig=", now, ErrURLMalformed},
		{"sig missing", vecPath, "expires=1795430000&user=alice", now, ErrURLMalformed},
		{"expires missing", vecPath, "sig=" + vecSig, now, ErrURLMalformed},
		{"expires without =", vecPath, "expires&sig=" + vecMinSig, now, ErrURLMalformed},
		{"duplicate user", vecPath, vecQuery + "&user=alice", now, ErrURLMalformed},
		{"duplicate escaped user", vecPath, vecQuery + "&us%65r=alice", now, ErrURLMalformed},
		{"duplicate sig", vecPath, vecQuery + "&sig=" + vecSig, now, ErrURLMalformed},
		{"duplicate expires", vecPath, "expires=1795430000&" + vecMin, now, ErrURLMalformed},
		{"bad escape in value", vecPath, vecMin + "&user=%zz", now, ErrURLMalformed},
		{"bad escape in name", vecPath, vecMin + "&a%zz=1", now, ErrURLMalformed},
		{"expires not a number", vecPath, "expires=soon&sig=" + vecMinSig, now, ErrURLMalformed},
		{"expires negative", vecPath, "expires=-1&sig=" + vecMinSig, now, ErrURLMalformed},
		{"expires plus sign", vecPath, "expires=%2B1795430000&sig=" + vecMinSig, now, ErrURLMalformed},
		{"expires leading zero", vecPath, "expires=01795430000&sig=" + vecMinSig, now, ErrURLMalformed},
		{"expires overflow", vecPath, "expires=99999999999999999999&sig=" + vecMinSig, now, ErrURLMalformed},
		{"rate zero", vecPath, vecMin + "&rate=0", now, ErrURLMalformed},
		{"rate negative", vecPath, vecMin + "&rate=-5", now, ErrURLMalformed},
		{"rate empty", vecPath, vecMin + "&rate=", now, ErrURLMalformed},
		{"rate leading zero", vecPath, vecMin + "&rate=01", now, ErrURLMalformed},
		{"user with newline", vecPath, vecMin + "&user=a%0Ab", now, ErrURLMalformed},
		{"filename with NUL", vecPath, vecMin + "&filename=a%00.pdf", now, ErrURLMalformed},
		{"user too long", vecPath, vecMin + "&user=" + long + "u", now, ErrURLMalformed},
		{"filename too long", vecPath, vecMin + "&filename=" + long + "f", now, ErrURLMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := VerifyQuery(secret, tt.path, tt.query, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifyQuery = %+v, %v; want %v", c, err, tt.want)
			}
			if err != nil {
				if c != (Claims{}) {
					t.Errorf("claims %+v returned with error %v", c, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the secret", err)
				}
			}
		})
	}
}

func TestVerifyQueryClaims(t *testing.T) {
	c, err := VerifyQuery(secret, vecPath, vecQuery, time.Unix(vecExp, 0))
	if err != nil || c != vecClaims {
		t.Errorf("VerifyQuery = %+v, %v; want %+v", c, err, vecClaims)
	}
	// Escaped values round-trip: '&', '=', '+', '%', non-ASCII.
	odd := Claims{Expires: vecExp, User: "a&b=c+d%e f", Filename: "отчёт \"2026\".pdf"}
	q, err := SignQuery(secret, vecPath, odd)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := VerifyQuery(secret, vecPath, q, time.Unix(0, 0)); err != nil || c != odd {
		t.Errorf("VerifyQuery(%q) = %+v, %v; want %+v", q, c, err, odd)
	}
}
