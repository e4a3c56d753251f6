package tracker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/depotfs/depot/internal/consensus"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/proto/trackerpb"
)

// The FastDFS tracker commands (fdfsproto) answered from the same placement and
// eligibility code as the gRPC methods (queryStore, queryFetch, queryUpdate, listGroups).

var _ fdfsproto.Handler = (*Server)(nil)

// maxQueryBody bounds the bodies the tracker reads: a group and a file name.
const maxQueryBody = fdfsproto.GroupLen + 256

// ServeFDFS serves one FastDFS tracker request.
func (s *Server) ServeFDFS(_ context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	var err error
	switch h.Cmd {
	case fdfsproto.CmdQueryStoreNoGroupOne, fdfsproto.CmdQueryStoreWithGroupOne,
		fdfsproto.CmdQueryStoreNoGroupAll, fdfsproto.CmdQueryStoreWithGroupAll:
		err = s.fdfsQueryStore(c, h.Cmd)
	case fdfsproto.CmdQueryFetchOne, fdfsproto.CmdQueryFetchAll, fdfsproto.CmdQueryUpdate:
		err = s.fdfsQueryFile(c, h.Cmd)
	case fdfsproto.CmdListGroups, fdfsproto.CmdListOneGroup:
		err = s.fdfsListGroups(c, h.Cmd)
	case fdfsproto.CmdListStorages:
		err = s.fdfsListStorages(c)
	default:
		return fdfsproto.Fail(fdfsproto.StatusNoSys, fmt.Errorf("tracker: fdfs command %d: not supported", h.Cmd))
	}
	if err != nil {
		return fdfsErr(err)
	}
	return nil
}

// fdfsErr gives err its FastDFS status; it is the one mapping of tracker errors to errnos.
func fdfsErr(err error) error {
	var fe *fdfsproto.Error
	if errors.As(err, &fe) {
		return err
	}
	st := fdfsproto.StatusIO
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, fdfsproto.ErrTooLarge):
		st = fdfsproto.StatusInval
	case errors.Is(err, ErrUnknownGroup), errors.Is(err, ErrUnknownStorage), errors.Is(err, ErrNoStorage):
		st = fdfsproto.StatusNoEnt
	case errors.Is(err, ErrNoSpace):
		st = fdfsproto.StatusNoSpace
	case errors.Is(err, ErrNotAllowed):
		st = fdfsproto.StatusAccess
	case errors.Is(err, ErrBusy), errors.Is(err, ErrNotLeader), errors.Is(err, consensus.ErrNotLeader):
		st = fdfsproto.StatusBusy
	}
	return fdfsproto.Fail(st, err)
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: fdfs: "+format, append([]any{ErrInvalid}, a...)...)
}

// ipWidth is the IP field width of a list of briefs: 15 bytes, 45 when an address needs it.
func ipWidth(bs ...*trackerpb.StorageBrief) int {
	w := fdfsproto.IPv4Field
	for _, b := range bs {
		w = max(w, fdfsproto.IPField(b.GetAddr()))
	}
	return w
}

func appendAddr(b []byte, st *trackerpb.StorageBrief, w int, port bool) []byte {
	b = fdfsproto.AppendFixed(b, st.GetAddr(), w)
	if port {
		b = fdfsproto.AppendInt64(b, nativePort(st))
	}
	return b
}

// nativePort is the port a storage serves FastDFS's protocol on.
func nativePort(st *trackerpb.StorageBrief) int64 {
	if p := st.GetNativePort(); p > 0 {
		return int64(p)
	}
	return int64(st.GetPort())
}

// fdfsQueryStore: 101/106 no body, 104/107 group16 → group16 + ip + port8 + path1 (one),
// group16 + N × (ip + port8) + path1 (all).
func (s *Server) fdfsQueryStore(c *fdfsproto.Conn, cmd byte) error {
	b, err := c.ReadBody(maxQueryBody)
	if err != nil {
		return err
	}
	var group string
	withGroup := cmd == fdfsproto.CmdQueryStoreWithGroupOne || cmd == fdfsproto.CmdQueryStoreWithGroupAll
	switch {
	case withGroup && len(b) != fdfsproto.GroupLen:
		return invalid("query store with group: body of %d bytes, want %d", len(b), fdfsproto.GroupLen)
	case !withGroup && len(b) != 0:
		return invalid("query store: body of %d bytes, want none", len(b))
	case withGroup:
		if group = fdfsproto.Fixed(b); group == "" {
			return invalid("query store with an empty group name")
		}
	}
	var (
		resp *trackerpb.QueryStoreResponse
		all  []*trackerpb.StorageBrief
	)
	if cmd == fdfsproto.CmdQueryStoreNoGroupAll || cmd == fdfsproto.CmdQueryStoreWithGroupAll {
		resp, all, err = s.queryStoreAll(group)
	} else {
		resp, err = s.queryStore(group)
		all = []*trackerpb.StorageBrief{resp.GetStorage()}
	}
	if err != nil {
		return err
	}
	w := ipWidth(all...)
	out := fdfsproto.AppendGroup(make([]byte, 0, fdfsproto.GroupLen+len(all)*(w+8)+1), resp.GetGroup())
	for _, st := range all {
		out = appendAddr(out, st, w, true)
	}
	out = append(out, byte(resp.GetStorePathIndex()))
	return c.Reply(fdfsproto.StatusOK, out)
}

// fdfsQueryFile: group16 + remote name → group16 + ip + port8; fetch all adds the IP
// (only: they share the first one's port) of every other storage that may serve the file.
func (s *Server) fdfsQueryFile(c *fdfsproto.Conn, cmd byte) error {
	b, err := c.ReadBody(maxQueryBody)
	if err != nil {
		return err
	}
	if len(b) <= fdfsproto.GroupLen {
		return invalid("query file: body of %d bytes, want a group and a file name", len(b))
	}
	group, name := fdfsproto.Fixed(b[:fdfsproto.GroupLen]), string(b[fdfsproto.GroupLen:])
	fileID := group + "/" + name
	var list []*trackerpb.StorageBrief
	switch cmd {
	case fdfsproto.CmdQueryUpdate:
		resp, err := s.queryUpdate(fileID)
		if err != nil {
			return err
		}
		list = []*trackerpb.StorageBrief{resp.GetStorage()}
	default:
		resp, err := s.queryFetch(fileID, cmd == fdfsproto.CmdQueryFetchAll)
		if err != nil {
			return err
		}
		list = resp.GetStorages()
	}
	w := ipWidth(list...)
	out := fdfsproto.AppendGroup(nil, group)
	for i, st := range list {
		out = appendAddr(out, st, w, i == 0)
	}
	return c.Reply(fdfsproto.StatusOK, out)
}

// Record sizes of the monitor's answers (FastDFS 6.0x with 16-byte IP fields, what its
// fdfs_monitor and the Java SDK read).
const (
	groupStatLen   = fdfsproto.GroupLen + 1 + 11*8
	statBuffLen    = 3*4 + 38*8 + 4*8
	storageStatLen = 1 + 16 + 16 + 128 + 16 + 6 + 10*8 + statBuffLen + 1
)

// fdfsListGroups: 91 no body → N × group stat; 90 group16 → one.
func (s *Server) fdfsListGroups(c *fdfsproto.Conn, cmd byte) error {
	b, err := c.ReadBody(fdfsproto.GroupLen)
	if err != nil {
		return err
	}
	var only string
	if cmd == fdfsproto.CmdListOneGroup {
		if len(b) != fdfsproto.GroupLen {
			return invalid("list one group: body of %d bytes, want %d", len(b), fdfsproto.GroupLen)
		}
		only = fdfsproto.Fixed(b)
	} else if len(b) != 0 {
		return invalid("list groups: body of %d bytes, want none", len(b))
	}
	resp, err := s.listGroups(only)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(resp.GetGroups())*groupStatLen)
	for _, g := range resp.GetGroups() {
		out = appendGroupStat(out, g)
	}
	return c.Reply(fdfsproto.StatusOK, out)
}

func appendGroupStat(b []byte, g *trackerpb.GroupInfo) []byte {
	var port, httpPort, paths, subdirs int64
	if sts := g.GetStorages(); len(sts) > 0 {
		port, httpPort = nativePort(sts[0].GetBrief()), httpPortOf(sts[0].GetBrief())
		paths, subdirs = int64(sts[0].GetStorePathCount()), int64(sts[0].GetSubdirCount())
	}
	b = fdfsproto.AppendFixed(b, g.GetName(), fdfsproto.GroupLen+1)
	for _, v := range []int64{
		int64(g.GetTotalBytes() >> 20), int64(g.GetFreeBytes() >> 20), 0, // trunk free MB
		int64(len(g.GetStorages())), port, httpPort, int64(g.GetActiveCount()),
		0, paths, subdirs, 0, // current write server, ..., current trunk file id
	} {
		b = fdfsproto.AppendInt64(b, v)
	}
	return b
}

// httpPortOf is the port of a storage's download URL (0 when it has none).
func httpPortOf(b *trackerpb.StorageBrief) int64 {
	u, err := url.Parse(b.GetHttpUrl())
	if err != nil || u.Port() == "" {
		return 0
	}
	p, _ := strconv.ParseInt(u.Port(), 10, 64)
	return p
}

// fdfsListStorages: group16 [+ storage id or IP] → N × storage stat.
func (s *Server) fdfsListStorages(c *fdfsproto.Conn) error {
	b, err := c.ReadBody(fdfsproto.GroupLen + fdfsproto.IPv6Field + 1)
	if err != nil {
		return err
	}
	if len(b) < fdfsproto.GroupLen {
		return invalid("list storages: body of %d bytes, want a group", len(b))
	}
	group, which := fdfsproto.Fixed(b[:fdfsproto.GroupLen]), fdfsproto.Fixed(b[fdfsproto.GroupLen:])
	resp, err := s.listGroups(group)
	if err != nil {
		return err
	}
	var out []byte
	found := false
	for _, g := range resp.GetGroups() {
		for _, st := range g.GetStorages() {
			br := st.GetBrief()
			if which != "" && which != br.GetId() && which != br.GetAddr() && which != br.GetKey() {
				continue
			}
			found = true
			out = appendStorageStat(out, st, br.GetKey() == g.GetTrunkServerKey())
		}
	}
	if which != "" && !found {
		return fmt.Errorf("%w: %q in group %s", ErrUnknownStorage, which, group)
	}
	return c.Reply(fdfsproto.StatusOK, out)
}

func appendStorageStat(b []byte, st *trackerpb.StorageInfo, trunk bool) []byte {
	br := st.GetBrief()
	id := br.GetId()
	if id == "" {
		id = br.GetAddr()
	}
	src := br.GetSyncSourceKey()
	if a, err := netip.ParseAddrPort(src); err == nil {
		src = a.Addr().String()
	}
	b = append(b, byte(br.GetStatus()))
	b = fdfsproto.AppendFixed(b, id, 16)
	b = fdfsproto.AppendFixed(b, br.GetAddr(), 16)
	b = fdfsproto.AppendFixed(b, "", 128) // domain name
	b = fdfsproto.AppendFixed(b, src, 16)
	b = fdfsproto.AppendFixed(b, st.GetVersion(), 6)
	for _, v := range []int64{
		st.GetJoinTime(), st.GetUpTime(), int64(st.GetTotalBytes() >> 20), int64(st.GetFreeBytes() >> 20),
		int64(st.GetUploadPriority()), int64(st.GetStorePathCount()), int64(st.GetSubdirCount()),
		0, nativePort(br), httpPortOf(br), // current write path, ports
	} {
		b = fdfsproto.AppendInt64(b, v)
	}
	// Statistics: connection counters and per-operation counts are not kept by the tracker
	// (zeros); the last synced timestamp and heartbeat are.
	stat := make([]byte, statBuffLen)
	fdfsproto.PutInt64(stat[statBuffLen-16:], st.GetLastSyncedTs())
	fdfsproto.PutInt64(stat[statBuffLen-8:], st.GetLastHeartbeat())
	b = append(b, stat...)
	if trunk {
		return append(b, 1)
	}
	return append(b, 0)
}
