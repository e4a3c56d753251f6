package tracker

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"

	"google.golang.org/grpc/peer"

	"github.com/depotfs/depot/internal/conf"
)

var groupNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

// identity is who a joining storage is.
type identity struct {
	group, key, id, rw string
}

// identify resolves a storage's group, key, id and rw mode from what it reports. With
// use_storage_id the storage must be in storage_ids.conf: by the id it sends (when
// trust_storage_server_id) or else by its address and port.
func (s *Server) identify(group, storageID, addr string, port int) (identity, error) {
	t := &s.cfg.Tracker
	if !t.UseStorageID {
		if !groupNameRE.MatchString(group) {
			return identity{}, fmt.Errorf("%w: group name %q", ErrInvalid, group)
		}
		return identity{group: group, key: net.JoinHostPort(addr, strconv.Itoa(port)), rw: conf.RWBoth}, nil
	}
	var (
		e  conf.StorageIDEntry
		ok bool
	)
	if storageID != "" && t.TrustStorageServerID {
		if e, ok = s.cfg.StorageIDs.ByID(storageID); !ok {
			return identity{}, fmt.Errorf("%w: id %q", ErrNotAllowed, storageID)
		}
	} else if e, ok = s.cfg.StorageIDs.ByAddr(addr, port); !ok {
		return identity{}, fmt.Errorf("%w: address %s port %d", ErrNotAllowed, addr, port)
	}
	if e.Port != 0 && e.Port != port {
		return identity{}, fmt.Errorf("%w: storage %s has port %d in storage_ids.conf, reports %d", ErrInvalid, e.ID, e.Port, port)
	}
	if group != "" && group != e.Group {
		return identity{}, fmt.Errorf("%w: storage %s is in group %s in storage_ids.conf, reports %q", ErrInvalid, e.ID, e.Group, group)
	}
	return identity{group: e.Group, key: e.ID, id: e.ID, rw: e.RW}, nil
}

// peerHost returns the IP address of the connection's peer, or "".
func peerHost(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return ""
	}
	return ap.Addr().Unmap().String()
}

// compareKeys orders storage keys as FastDFS orders servers: ids numerically, addresses by
// IP then port, anything else as text.
func compareKeys(a, b string) int {
	if x, err1 := strconv.ParseUint(a, 10, 64); err1 == nil {
		if y, err2 := strconv.ParseUint(b, 10, 64); err2 == nil {
			return cmp.Compare(x, y)
		}
	}
	if x, err1 := netip.ParseAddrPort(a); err1 == nil {
		if y, err2 := netip.ParseAddrPort(b); err2 == nil {
			return x.Compare(y)
		}
	}
	return cmp.Compare(a, b)
}
