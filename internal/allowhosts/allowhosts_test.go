package allowhosts

import (
	"errors"
	"net/netip"
	"testing"
)

func fakeLookup(host string) ([]string, error) {
	switch host {
	case "host01.example.com":
		return []string{"10.9.0.1"}, nil
	case "host02.example.com":
		return []string{"10.9.0.2", "::1"}, nil
	}
	return nil, errors.New("no such host")
}

func TestAllowHosts(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		allow  []string
		deny   []string
	}{
		{"none", nil, []string{"1.2.3.4", "::1"}, nil},
		{"star", []string{"*"}, []string{"1.2.3.4"}, nil},
		{"ip", []string{"10.0.0.1"}, []string{"10.0.0.1", "::ffff:10.0.0.1"}, []string{"10.0.0.2"}},
		{"cidr", []string{"192.168.5.64/26"}, []string{"192.168.5.64", "192.168.5.127"}, []string{"192.168.5.128", "192.168.5.63"}},
		{"range", []string{"10.0.1.[1-15,20]"}, []string{"10.0.1.1", "10.0.1.15", "10.0.1.20"}, []string{"10.0.1.0", "10.0.1.16", "10.0.1.21"}},
		{"host range", []string{"host[01-02].example.com"}, []string{"10.9.0.1", "10.9.0.2", "::1"}, []string{"10.9.0.3"}},
		{"several", []string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse(tt.values, fakeLookup)
			if err != nil {
				t.Fatal(err)
			}
			for _, ip := range tt.allow {
				if !a.Allows(netip.MustParseAddr(ip)) {
					t.Errorf("%s denied", ip)
				}
			}
			for _, ip := range tt.deny {
				if a.Allows(netip.MustParseAddr(ip)) {
					t.Errorf("%s allowed", ip)
				}
			}
		})
	}
}

func TestAllowHostsErrors(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		lookup func(string) ([]string, error)
	}{
		{"unknown host", []string{"nohost.example.com"}, fakeLookup},
		{"host without resolver", []string{"host01.example.com"}, nil},
		{"two ranges", []string{"10.[1-2].0.[1-2]"}, fakeLookup},
		{"open range", []string{"10.0.0.[1-2"}, fakeLookup},
		{"stray bracket", []string{"10.0.0.1]"}, fakeLookup},
		{"reversed range", []string{"10.0.0.[5-1]"}, fakeLookup},
		{"huge range", []string{"10.0.0.[0-9223372036854775807]"}, fakeLookup},
		{"not a number", []string{"10.0.0.[a-b]"}, fakeLookup},
		{"bad cidr", []string{"10.0.0.0/40"}, fakeLookup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.values, tt.lookup); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"*", "10.0.1.[1-15,20]", "host[01-08,20-25].domain.com", "192.168.5.64/26", "[", "a]b", "[0-0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, err := Parse([]string{v}, func(string) ([]string, error) { return []string{"10.0.0.1"}, nil })
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		a.Allows(netip.MustParseAddr("10.0.0.1"))
	})
}
