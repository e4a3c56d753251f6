// Package allowhosts is FastDFS's allow_hosts: the client addresses a tracker or a storage
// serves on its port, parsed as FastDFS writes them, checked per connection or per gRPC call,
// and swapped live on SIGHUP (Guard).
package allowhosts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid marks an allow_hosts value that does not parse or resolve.
var ErrInvalid = errors.New("invalid allow_hosts")

// maxAllowExpansion bounds how many hosts one allow_hosts pattern may expand to.
const maxAllowExpansion = 65536

// List is an allow_hosts: the client addresses a node serves. A nil List, no values and "*"
// allow everyone.
type List struct {
	all      bool
	prefixes []netip.Prefix
}

// Parse reads allow_hosts values as FastDFS writes them: "*", an IP address, a
// CIDR block ("192.168.5.64/26"), a host name, or any of these with one bracketed range list
// ("10.0.1.[1-15,20]", "host[01-08,20-25].domain.com"). lookup resolves host names; nil
// makes a host name an error. No values means everyone is allowed.
func Parse(values []string, lookup func(host string) ([]string, error)) (*List, error) {
	a := &List{all: len(values) == 0}
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
				return nil, fmt.Errorf("%w %q: %w", ErrInvalid, v, err)
			}
		}
	}
	return a, nil
}

func (a *List) add(h string, lookup func(string) ([]string, error)) error {
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
			return nil, fmt.Errorf("%w %q: unbalanced ]", ErrInvalid, v)
		}
		return []string{v}, nil
	}
	end := strings.IndexByte(v[open:], ']')
	if end < 0 || strings.ContainsAny(v[open+end+1:], "[]") {
		return nil, fmt.Errorf("%w %q: want one [range]", ErrInvalid, v)
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
			return nil, fmt.Errorf("%w %q: range %q", ErrInvalid, v, part)
		}
		for n := a; n <= b; n++ {
			out = append(out, fmt.Sprintf("%s%0*d%s", head, len(lo), n, tail))
		}
	}
	return out, nil
}

// Allows reports whether a client at ip may use the node.
func (a *List) Allows(ip netip.Addr) bool {
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

// ParseAt is Parse whose error names the file:line (at[i], when known) of the first value that
// does not parse or resolve.
func ParseAt(values, at []string, lookup func(string) ([]string, error)) (*List, error) {
	allow, err := Parse(values, lookup)
	if err == nil {
		return allow, nil
	}
	for i, v := range values {
		if _, verr := Parse([]string{v}, lookup); verr != nil && i < len(at) {
			return nil, fmt.Errorf("%s: %w", at[i], verr)
		}
	}
	return nil, err
}

// Lookup resolves an allow_hosts host name with the system resolver, within 5 s.
func Lookup(host string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupHost(ctx, host)
}
