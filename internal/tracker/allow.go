package tracker

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxAllowExpansion bounds how many hosts one allow_hosts pattern may expand to.
const maxAllowExpansion = 65536

// AllowList is tracker.conf's allow_hosts: the client addresses the tracker serves. The zero
// value (and "*") allows everyone.
type AllowList struct {
	all      bool
	prefixes []netip.Prefix
}

// ParseAllowHosts reads allow_hosts values as FastDFS writes them: "*", an IP address, a
// CIDR block ("192.168.5.64/26"), a host name, or any of these with one bracketed range list
// ("10.0.1.[1-15,20]", "host[01-08,20-25].domain.com"). lookup resolves host names; nil
// makes a host name an error. No values means everyone is allowed.
func ParseAllowHosts(values []string, lookup func(host string) ([]string, error)) (*AllowList, error) {
	a := &AllowList{all: len(values) == 0}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "*" {
			a.all = true
			continue
		}
		hosts, err := expandRange(v)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if err := a.add(h, lookup); err != nil {
				return nil, fmt.Errorf("%w: allow_hosts %q: %w", ErrInvalid, v, err)
			}
		}
	}
	return a, nil
}

func (a *AllowList) add(h string, lookup func(string) ([]string, error)) error {
	if p, err := netip.ParsePrefix(h); err == nil {
		a.prefixes = append(a.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		return nil
	}
	if h == "" || strings.ContainsAny(h, " /[]*") || lookup == nil {
		return fmt.Errorf("host %q", h)
	}
	addrs, err := lookup(h)
	if err != nil {
		return err
	}
	for _, s := range addrs {
		if ip, err := netip.ParseAddr(s); err == nil {
			a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	return nil
}

// expandRange expands one "[a-b,c]" group of a pattern; numbers keep the width of the
// range's first bound ("[01-08]" gives 01..08).
func expandRange(v string) ([]string, error) {
	open := strings.IndexByte(v, '[')
	if open < 0 {
		if strings.IndexByte(v, ']') >= 0 {
			return nil, fmt.Errorf("%w: allow_hosts %q: unbalanced ]", ErrInvalid, v)
		}
		return []string{v}, nil
	}
	end := strings.IndexByte(v[open:], ']')
	if end < 0 || strings.ContainsAny(v[open+end+1:], "[]") {
		return nil, fmt.Errorf("%w: allow_hosts %q: want one [range]", ErrInvalid, v)
	}
	head, body, tail := v[:open], v[open+1:open+end], v[open+end+1:]
	var out []string
	for _, part := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a >= maxAllowExpansion || len(out)+b-a+1 > maxAllowExpansion {
			return nil, fmt.Errorf("%w: allow_hosts %q: range %q", ErrInvalid, v, part)
		}
		for n := a; n <= b; n++ {
			out = append(out, fmt.Sprintf("%s%0*d%s", head, len(lo), n, tail))
		}
	}
	return out, nil
}

// Allows reports whether a client at ip may use the tracker.
func (a *AllowList) Allows(ip netip.Addr) bool {
	if a == nil || a.all {
		return true
	}
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// UnaryInterceptor refuses calls from clients a does not allow (PERMISSION_DENIED).
func (a *AllowList) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := a.admit(ctx); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// admit returns PERMISSION_DENIED when a does not allow the client of the call in ctx.
func (a *AllowList) admit(ctx context.Context) error {
	host := peerHost(ctx)
	ip, err := netip.ParseAddr(host)
	if err != nil || !a.Allows(ip) {
		return status.Errorf(codes.PermissionDenied, "tracker: client %q not in allow_hosts", host)
	}
	return nil
}
