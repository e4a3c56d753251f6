package storage

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/depotfs/depot/internal/fileid"
)

// Identity is who this storage is: the 4 source bytes it writes into new file IDs and the
// test that decides whether an ID's source is itself.
type Identity struct {
	// Source is packed into every file ID this node creates.
	Source [4]byte
	// ServerID is the storage id when use_storage_id is on, "" otherwise.
	ServerID string
	// Addr is the IPv4 address the node is known by (bind_addr, or the host's first
	// non-loopback IPv4 address, or 127.0.0.1).
	Addr netip.Addr
}

// IsSelf reports whether id was created by this node.
// A node with a storage id also owns the IDs it wrote under its IPv4 address.
func (i Identity) IsSelf(id fileid.ID) bool {
	src := id.SourceBytes()
	return src == i.Source || (i.Addr.Is4() && src == i.Addr.As4())
}

// resolveIdentity derives the node's identity: its storage id with use_storage_id, else
// bind_addr, else the first non-loopback IPv4 address of the host (127.0.0.1 if none).
func resolveIdentity(bindAddr string, useStorageID bool, serverID string, ifaceAddrs func() ([]net.Addr, error)) (Identity, error) {
	var ident Identity
	switch {
	case bindAddr != "":
		a, err := netip.ParseAddr(bindAddr)
		if err != nil || !a.Unmap().Is4() {
			return ident, fmt.Errorf("bind_addr %q: want an IPv4 address", bindAddr)
		}
		ident.Addr = a.Unmap()
	default:
		ident.Addr = firstIPv4(ifaceAddrs)
	}
	if useStorageID && serverID != "" {
		n, err := strconv.ParseUint(serverID, 10, 32)
		if err != nil {
			return ident, fmt.Errorf("server_id %q: want a decimal storage id", serverID)
		}
		src, err := fileid.SourceFromServerID(uint32(n))
		if err != nil {
			return ident, fmt.Errorf("server_id %q: %w", serverID, err)
		}
		ident.Source, ident.ServerID = src, serverID
		return ident, nil
	}
	src, err := fileid.SourceFromIPv4(ident.Addr)
	if err != nil {
		return ident, fmt.Errorf("address %s: %w", ident.Addr, err)
	}
	ident.Source = src
	return ident, nil
}

// firstIPv4 returns the host's first non-loopback IPv4 address, or 127.0.0.1.
func firstIPv4(ifaceAddrs func() ([]net.Addr, error)) netip.Addr {
	if ifaceAddrs == nil {
		ifaceAddrs = net.InterfaceAddrs
	}
	addrs, err := ifaceAddrs()
	if err == nil {
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if ok && ip.Unmap().Is4() && !ip.IsLoopback() {
				return ip.Unmap()
			}
		}
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}
