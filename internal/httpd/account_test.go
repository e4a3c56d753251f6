package httpd

import (
	"testing"
)

// TestClientHost: the fast cut of an IPv4 address agrees with net.SplitHostPort, and other
// forms go through it.
func TestClientHost(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"127.0.0.1:5678", "127.0.0.1"},
		{"10.1.2.3:1", "10.1.2.3"},
		{"[::1]:80", "::1"},
		{"[fe80::1%eth0]:443", "fe80::1%eth0"},
		{"::1", "::1"}, // no port: all of it
		{"198.51.100.7", "198.51.100.7"},
		{"host:", "host"},
		{"@", "@"}, // a Unix socket's address
	} {
		if got := clientHost(tc.remote); got != tc.want {
			t.Errorf("clientHost(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}
