package storage

import (
	"net"
	"strconv"

	"github.com/depotfs/depot/internal/trunk"
	"github.com/depotfs/depot/proto/trackerpb"
)

// setTrunkServer hands a tracker's word on the group's trunk server to the trunk node:
// this storage's key, the trunk server's, the appointment epoch and the members (DELETED
// storages left out: a new trunk server scans every other one before reusing old space).
func (s *Server) setTrunkServer(self, server string, epoch uint32, members []*trackerpb.StorageBrief) {
	if s.trunk == nil || self == "" {
		return
	}
	var ms []trunk.Member
	for _, m := range members {
		if m.GetStatus() == trackerpb.StorageStatus_STORAGE_STATUS_DELETED || m.GetAddr() == "" {
			continue
		}
		ms = append(ms, trunk.Member{Key: m.GetKey(), Addr: net.JoinHostPort(m.GetAddr(), strconv.Itoa(int(m.GetPort())))})
	}
	s.trunk.SetServer(self, server, epoch, ms)
}

// Trunk returns the node's trunk files part (tests).
func (s *Server) Trunk() *trunk.Node { return s.trunk }
