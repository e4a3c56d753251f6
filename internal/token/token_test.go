package token

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	secret  = "FastDFS1234567890"
	fileID  = "M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	goodTok = "96133aba6d55f5add73f99b7f7036220"
	goodTS  = 1795426279
)

const longSum = "8ba887f22c75fdba7579aa77aac41f5a"

var policy = Policy{TTL: 900 * time.Second}

func TestSign(t *testing.T) {
	tests := []struct {
		fileID string
		ts     int64
		want   string
	}{
		{fileID, goodTS, goodTok},
		{"group1/" + fileID, goodTS, "101df72afbc72f121f00b0aa5a7f534e"},
		{fileID, 0, "fd94fbdae568de422a72ebcaf1faffd4"},
		{"M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg", 1700000100, "09cf4ea03a75f6c1562c71b4c0c301e8"},
	}
	for _, tt := range tests {
		if got := Sign(secret, tt.fileID, tt.ts); got != tt.want {
			t.Errorf("Sign(%q, %d) = %s, want %s", tt.fileID, tt.ts, got, tt.want)
		}
	}
	// Past the stack buffer: md5 of 1000 'x' + "s" + "1", checked with md5sum.
	long := strings.Repeat("x", 1000)
	if got, want := Sign("s", long, 1), longSum; got != want {
		t.Errorf("Sign(long) = %s, want %s", got, want)
	}
	if err := Verify("s", long, longSum, 1, time.Unix(1, 0), policy); err != nil {
		t.Errorf("Verify(long) = %v", err)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(goodTS+60, 0)
	strict := Policy{TTL: 900 * time.Second, RefuseZeroTS: true, RefuseFutureTS: true, FutureSkew: 30 * time.Second}
	future := int64(goodTS + 60 + 31)
	tests := []struct {
		name   string
		fileID string
		tok    string
		ts     int64
		now    time.Time
		p      Policy
		want   error
	}{
		{"good", fileID, goodTok, goodTS, now, policy, nil},
		{"good strict", fileID, goodTok, goodTS, now, strict, nil},
		{"at ttl", fileID, goodTok, goodTS, time.Unix(goodTS+900, 999e6), policy, nil},
		{"past ttl", fileID, goodTok, goodTS, time.Unix(goodTS+901, 0), policy, ErrExpired},
		{"group in token", fileID, "101df72afbc72f121f00b0aa5a7f534e", goodTS, now, policy, ErrMismatch},
		{"group in id", "group1/" + fileID, goodTok, goodTS, now, policy, ErrMismatch},
		{"leading slash", "/" + fileID, goodTok, goodTS, now, policy, ErrMismatch},
		{"upper case", fileID, strings.ToUpper(goodTok), goodTS, now, policy, ErrMalformed},
		{"short", fileID, goodTok[:31], goodTS, now, policy, ErrMalformed},
		{"long", fileID, goodTok + "0", goodTS, now, policy, ErrMalformed},
		{"empty", fileID, "", goodTS, now, policy, ErrMalformed},
		{"not hex", fileID, "g6133aba6d55f5add73f99b7f7036220", goodTS, now, policy, ErrMalformed},
		{"other ts", fileID, goodTok, goodTS + 1, now, policy, ErrMismatch},
		{"other secret", fileID, Sign("other", fileID, goodTS), goodTS, now, policy, ErrMismatch},
		{"ts 0 never expires", fileID, "fd94fbdae568de422a72ebcaf1faffd4", 0, time.Unix(4e9, 0), policy, nil},
		{"ts 0 refused", fileID, "fd94fbdae568de422a72ebcaf1faffd4", 0, now, strict, ErrZeroTS},
		{"future accepted", fileID, Sign(secret, fileID, future), future, now, policy, nil},
		{"future in skew", fileID, Sign(secret, fileID, future-1), future - 1, now, strict, nil},
		{"future refused", fileID, Sign(secret, fileID, future), future, now, strict, ErrFutureTS},
		{"max ts refused", fileID, Sign(secret, fileID, math.MaxInt64), math.MaxInt64, now, strict, ErrFutureTS},
		{"max ts", fileID, Sign(secret, fileID, math.MaxInt64), math.MaxInt64, now, policy, nil},
		{"min ts", fileID, Sign(secret, fileID, math.MinInt64), math.MinInt64, now, policy, ErrExpired},
		{"negative ts", fileID, Sign(secret, fileID, -5), -5, now, policy, ErrExpired},
		{"huge ttl", fileID, Sign(secret, fileID, -5), -5, now, Policy{TTL: math.MaxInt64}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(secret, tt.fileID, tt.tok, tt.ts, tt.now, tt.p)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestParseTS(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"1795426279", 1795426279},
		{"1795426279abc", 1795426279},
		{"abc", 0},
		{"", 0},
		{"0", 0},
		{"0123", 123},
		{"-5", -5},
		{"+7", 7},
		{" \t\n42", 42},
		{"- 5", 0},
		{"--5", 0},
		{"+", 0},
		{"12 34", 12},
		{"9223372036854775807", math.MaxInt64},
		{"9223372036854775808", math.MaxInt64},
		{"99999999999999999999999", math.MaxInt64},
		{"-9223372036854775808", math.MinInt64},
		{"-9223372036854775809", math.MinInt64},
		{"-99999999999999999999999x", math.MinInt64},
		{"1e3", 1},
		{"0x10", 0},
	}
	for _, tt := range tests {
		if got := ParseTS(tt.in); got != tt.want {
			t.Errorf("ParseTS(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestVerifyAllocs(t *testing.T) {
	now := time.Unix(goodTS, 0)
	allocs := testing.AllocsPerRun(100, func() {
		if err := Verify(secret, fileID, goodTok, goodTS, now, policy); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Verify allocates %v times per call", allocs)
	}
}

func BenchmarkVerify(b *testing.B) {
	now := time.Unix(goodTS, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(secret, fileID, goodTok, goodTS, now, policy); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseTS(f *testing.F) {
	for _, s := range []string{"1795426279", "1795426279abc", "abc", "0123", "-5", "99999999999999999999", " +1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := ParseTS(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n != v {
			t.Errorf("ParseTS(%q) = %d, strconv says %d", s, v, n)
		}
		if ParseTS(s+"x9") != v {
			t.Errorf("ParseTS(%q) changes with trailing junk", s)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add(fileID, goodTok, int64(goodTS), int64(goodTS+60))
	f.Add(fileID, "fd94fbdae568de422a72ebcaf1faffd4", int64(0), int64(0))
	f.Add("", "", int64(math.MinInt64), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, id, tok string, ts, now int64) {
		p := Policy{TTL: 900 * time.Second, RefuseFutureTS: true, FutureSkew: time.Minute}
		err := Verify(secret, id, tok, ts, time.Unix(now, 0), p)
		if err == nil && tok != Sign(secret, id, ts) {
			t.Errorf("Verify accepted %q for %q at %d; Sign gives %q", tok, id, ts, Sign(secret, id, ts))
		}
		good := Sign(secret, id, ts)
		if err := Verify(secret, id, good, ts, time.Unix(ts, 0), p); ts != 0 && err != nil {
			t.Errorf("Verify(Sign) at ts = %v", err)
		}
	})
}
