// Package testcluster starts a whole Depot cluster inside one test process: real trackers
// (internal/tracker servers with a bbolt file each and the Raft coordinator of
// internal/consensus) and real storage nodes (internal/storage servers), each on its own
// loopback address, with fast timers (heartbeats every 100 ms, OFFLINE after 1 s).
//
// Trackers are not told about each other: as in FastDFS they learn the other trackers from
// the storages' tracker_server lists. Everything waits by polling, never by sleeping a
// fixed time. Addresses are 127.B.1.n (trackers) and 127.B.2.n (storages) with B random
// per cluster, so clusters of parallel tests do not collide.
package testcluster
