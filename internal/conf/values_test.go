package conf

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"8KB", 8 << 10, true}, {"8kb", 8 << 10, true},
		{"8K", 8 << 10, true}, {"1M", 1 << 20, true}, {"1mb", 1 << 20, true}, {"2g", 2 << 30, true},
		{"2GB", 2 << 30, true}, {"64MB", 64 << 20, true}, {"100B", 100, true}, {" 3 k ", 3 << 10, true},
		{"", 0, false}, {"K", 0, false}, {"-1", 0, false}, {"1T", 0, false}, {"1.5M", 0, false},
		{"1KBB", 0, false}, {"abc", 0, false}, {"9223372036854775807G", 0, false},
		{"99999999999999999999", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidValue) {
				t.Errorf("error %v does not wrap ErrInvalidValue", err)
			}
		})
	}
}

func TestParseReserved(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Reserved
		str  string
		ok   bool
	}{
		{"20%", Reserved{Percent: 20}, "20.00%", true},
		{"20.00%", Reserved{Percent: 20}, "20.00%", true},
		{"0.5%", Reserved{Percent: 0.5}, "0.50%", true},
		{"1024MB", Reserved{Bytes: 1 << 30}, "1GB", true},
		{"1024", Reserved{Bytes: 1024}, "1KB", true},
		{"100M", Reserved{Bytes: 100 << 20}, "100MB", true},
		{"0%", Reserved{}, "", false}, {"100%", Reserved{}, "", false}, {"%", Reserved{}, "", false},
		{"-5%", Reserved{}, "", false}, {"1e1%", Reserved{}, "", false}, {"NaN%", Reserved{}, "", false},
		{"x", Reserved{}, "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseReserved(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseReserved(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if tc.ok && got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
		})
	}
}

func TestParseTimeOfDay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want TimeOfDay
		ok   bool
	}{
		{"00:00", TimeOfDay{0, 0}, true}, {"23:59", TimeOfDay{23, 59}, true}, {"2:5", TimeOfDay{2, 5}, true},
		{"24:00", TimeOfDay{}, false}, {"12:60", TimeOfDay{}, false}, {"12", TimeOfDay{}, false},
		{"a:b", TimeOfDay{}, false}, {"012:00", TimeOfDay{}, false}, {"-1:00", TimeOfDay{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimeOfDay(tc.in)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("ParseTimeOfDay(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestCheckHostPort(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"127.0.0.1:22122", true}, {"tracker:22122", true}, {"[::1]:22122", true},
		{"10.0.0.1:22122,192.168.0.1:22122", true},
		{"127.0.0.1", false}, {":22122", false}, {"h:0", false}, {"h:65536", false}, {"h:x", false},
		{"::1:22122", false}, {"a:1,", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if err := CheckHostPort(tc.in); (err == nil) != tc.ok {
				t.Errorf("CheckHostPort(%q) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
}
