package client

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// A host that drops off the network (a cable, a switch port, a partition) sends no RST: a
// call on a connection to it waits for the caller's deadline, and the pooled connection
// looks healthy to the next call. With keepalive pings, a connection whose peer has not
// answered for keepaliveTime+keepaliveTimeout while calls are in flight is closed: its
// calls fail with ErrUnavailable, which tracker mode retries (on another storage, or on the
// same one when an upload's outcome is unknown), and the pool reconnects.
//
// Depot's storage and tracker servers permit pings this often (their
// keepalive.EnforcementPolicy); gRPC's default policy answers pings more frequent than
// every 5 minutes by closing the connection.
const (
	keepaliveTime    = 10 * time.Second // gRPC's minimum
	keepaliveTimeout = 5 * time.Second
)

// keepaliveOption pings a connection that has calls in flight and has read nothing for
// keepaliveTime.
func keepaliveOption() grpc.DialOption {
	return grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout})
}
