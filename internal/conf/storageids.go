package conf

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxServerID is the largest storage id usable in file names (24 bits).
const MaxServerID = 1<<24 - 1

// Read/write modes of a storage_ids.conf entry (its rw= option).
const (
	RWBoth  = "both"
	RWRead  = "read"
	RWWrite = "write"
	RWNone  = "none"
)

// StorageIDEntry is one line of storage_ids.conf:
// `<id> <group> <host[,host2]>[:port] [rw=mode]`, IPv6 hosts as `[a,b]:port`.
type StorageIDEntry struct {
	ID    string   // canonical decimal, 1..MaxServerID
	Group string   // group name
	Hosts []string // one or two addresses (inner, outer), IPv6 without brackets
	Port  int      // 0 when the line has no port (matches any port)
	RW    string   // RWBoth, RWRead, RWWrite or RWNone
	Line  int      // line number in the file
}

// StorageIDs is storage_ids.conf.
type StorageIDs struct {
	Path    string
	Entries []StorageIDEntry // in file order
}

// ByID returns the entry with the given id.
func (s *StorageIDs) ByID(id string) (StorageIDEntry, bool) {
	for _, e := range s.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return StorageIDEntry{}, false
}

// ByAddr returns the entry listing host with port, or with no port.
func (s *StorageIDs) ByAddr(host string, port int) (StorageIDEntry, bool) {
	for _, want := range []int{port, 0} {
		for _, e := range s.Entries {
			for _, h := range e.Hosts {
				if h == host && e.Port == want {
					return e, true
				}
			}
		}
	}
	return StorageIDEntry{}, false
}

// LoadStorageIDs reads storage_ids.conf at path.
func LoadStorageIDs(path string) (*StorageIDs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return ParseStorageIDs(path, data)
}

// ParseStorageIDs parses storage_ids.conf text; name is used in errors. Ids and host:port
// pairs must be unique, and either every line has a port or none has.
func ParseStorageIDs(name string, data []byte) (*StorageIDs, error) {
	if abs, err := filepath.Abs(name); err == nil {
		name = abs
	}
	s := &StorageIDs{Path: name}
	ids := map[string]int{}
	addrs := map[string]int{}
	withPort := -1 // line of the first entry, and whether it had a port
	firstHasPort := false
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(err error) error { return &Error{File: name, Line: i + 1, Err: err} }
		e, err := parseStorageIDLine(line)
		if err != nil {
			return nil, fail(err)
		}
		e.Line = i + 1
		if prev, dup := ids[e.ID]; dup {
			return nil, fail(fmt.Errorf("id %s already on line %d: %w", e.ID, prev, ErrDuplicate))
		}
		ids[e.ID] = e.Line
		for _, h := range e.Hosts {
			k := net2(h, e.Port)
			if prev, dup := addrs[k]; dup {
				return nil, fail(fmt.Errorf("address %s already on line %d: %w", k, prev, ErrDuplicate))
			}
			addrs[k] = e.Line
		}
		if withPort < 0 {
			withPort, firstHasPort = e.Line, e.Port != 0
		} else if (e.Port != 0) != firstHasPort {
			return nil, fail(fmt.Errorf("port given on some lines only (compare line %d): %w", withPort, ErrInvalidValue))
		}
		s.Entries = append(s.Entries, e)
	}
	if len(s.Entries) == 0 {
		return nil, &Error{File: name, Err: fmt.Errorf("no storage id: %w", ErrRequired)}
	}
	return s, nil
}

func net2(h string, port int) string { return h + "/" + strconv.Itoa(port) }

func parseStorageIDLine(line string) (StorageIDEntry, error) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return StorageIDEntry{}, fmt.Errorf("want <id> <group> <host[:port]> [rw=mode]: %w", ErrSyntax)
	}
	e := StorageIDEntry{ID: f[0], Group: f[1], RW: RWBoth}
	if !validServerID(e.ID) {
		return e, invalid("storage id (want 1..16777215, no leading zeros)", e.ID)
	}
	if !groupNameRE.MatchString(e.Group) {
		return e, invalid("group name", e.Group)
	}
	var err error
	if e.Hosts, e.Port, err = parseIDHosts(f[2]); err != nil {
		return e, err
	}
	for _, opt := range f[3:] {
		v, ok := strings.CutPrefix(opt, "rw=")
		if !ok {
			return e, invalid("option (want rw=mode)", opt)
		}
		switch v {
		case "both", "all":
			e.RW = RWBoth
		case "read", "readonly":
			e.RW = RWRead
		case "write", "writeonly":
			e.RW = RWWrite
		case "none":
			e.RW = RWNone
		default:
			return e, invalid("rw mode (want both|read|write|none)", v)
		}
	}
	return e, nil
}

// validServerID reports whether id is canonical decimal in 1..MaxServerID.
func validServerID(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n >= 1 && n <= MaxServerID && strconv.Itoa(n) == id
}

// parseIDHosts reads `host[,host2][:port]` or `[v6[,v6b]][:port]`.
func parseIDHosts(spec string) ([]string, int, error) {
	var hostPart, portPart string
	bracketed := strings.HasPrefix(spec, "[")
	if bracketed {
		end := strings.IndexByte(spec, ']')
		if end < 0 {
			return nil, 0, invalid("address (unclosed '[')", spec)
		}
		hostPart, portPart = spec[1:end], spec[end+1:]
		if portPart != "" && portPart[0] != ':' {
			return nil, 0, invalid("address", spec)
		}
		portPart = strings.TrimPrefix(portPart, ":")
		if portPart == "" && strings.HasSuffix(spec, ":") {
			return nil, 0, invalid("port", spec)
		}
	} else {
		h, p, ok := strings.Cut(spec, ":")
		hostPart, portPart = h, p
		if ok && portPart == "" {
			return nil, 0, invalid("port", spec)
		}
	}
	port := 0
	if portPart != "" {
		n, err := strconv.Atoi(portPart)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != portPart {
			return nil, 0, invalid("port", spec)
		}
		port = n
	}
	hosts := strings.Split(hostPart, ",")
	if len(hosts) > 2 {
		return nil, 0, invalid("address (at most two hosts)", spec)
	}
	for _, h := range hosts {
		if h == "" {
			return nil, 0, invalid("address (empty host)", spec)
		}
		a, err := netip.ParseAddr(h)
		isV6 := err == nil && a.Is6() && !a.Is4In6()
		if bracketed && !isV6 {
			return nil, 0, invalid("IPv6 address", h)
		}
		if !bracketed && (isV6 || strings.ContainsAny(h, "[]")) {
			return nil, 0, invalid("address (IPv6 goes in brackets)", spec)
		}
	}
	return hosts, port, nil
}
