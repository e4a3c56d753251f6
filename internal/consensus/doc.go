// Package consensus gives Depot's trackers one leader and a replicated log
// of leader decisions (storage deletion, trunk server per group), using
// hashicorp/raft for election and replication and internal/membership
// (memberlist gossip) for discovery.
//
// # Why Raft
//
// Everything a tracker does for clients (placement, fetch, listing,
// OFFLINE marking, parameters) works on any single live tracker with no
// leader. Only decisions that must be taken once need a leader, and two
// leaders must never exist at once, also when the network splits. Gossip
// cannot promise that: it sees liveness, not quorum. Raft elects a leader
// only with a majority of voters, so a minority partition never has one;
// the majority side elects a leader after its heartbeat timeout. On top of
// Raft's own leader lease, [Coordinator.IsLeader] turns false as soon as
// the leader's heartbeats to a quorum of voters fail.
//
// A node that wins a vote is not reported as leader at once: it first
// commits and applies a barrier in its new term (as Consul does on
// election). Only then is its log, the cluster configuration included, on
// a majority, and its Applier up to date with every earlier decision; a
// leader reported before that may not outlive a partition. That matters
// most right after bootstrap, when the configuration exists only on the
// bootstrapping tracker: cut off before it replicated it, that tracker
// leaves a majority that knows no voters and cannot elect until the
// partition heals. That window remains (see maybeBootstrap), but nobody is
// told of a leader inside it.
//
// # Discovery and bootstrap
//
// Trackers that are not told about each other learn each other's gRPC
// addresses from the storages' tracker_server lists; the tracker passes
// them to [Coordinator.AddPeers], and the coordinator resolves each to a
// gossip address (Config.Resolve, the TrackerInfo call) and joins it. Every
// gossip node carries its gRPC and Raft addresses and whether it already
// has Raft state.
//
// A fresh cluster bootstraps like Consul's bootstrap_expect: once gossip
// shows at least Expect trackers, none of them with Raft state and no
// leader, the one with the lowest node ID bootstraps a configuration with
// all of them as voters. Expect 1 is a lone tracker; Expect 0 waits for
// [Coordinator.SetExpect] (the length of the storages' tracker lists).
// Trackers that join later are added as voters by the leader when gossip
// sees them. Dead trackers are never removed automatically: a partitioned
// or stopped tracker must be able to come back as a voter. An operator
// retiring a tracker for good is not handled yet.
//
// # Persistence
//
// Raft's log and stable state live in one bbolt file (StoreFile in
// Config.DataDir), together with the addresses of every tracker seen, so a
// restarted tracker rejoins gossip and Raft without being told anything.
// The log is never compacted (decisions are rare and small), so every
// tracker, including one added late, replays the whole log into its
// [Applier]; appliers must be idempotent. hashicorp/raft-boltdb is not used:
// its current release does not build against the go-metrics version that
// memberlist requires.
//
// # Wiring into internal/tracker
//
// *Coordinator has the methods of tracker.Coordinator, but Peers returns
// []consensus.Peer (same fields as tracker.Peer, a distinct type), so the
// wiring code converts in a one-method adapter. SetExpect, GossipAddr,
// RaftAddr and WaitLeader are extra methods for the tracker (TrackerInfo,
// storages' tracker lists, decisions asked for during an election).
//
// # Testing
//
// Config.Reachable is a test hook consulted for every gossip packet and
// stream and every Raft connection: the tests run each tracker on its own
// 127.0.0.x and cut the network between sides to simulate partitions.
// FastTimers shrinks every timer for tests on one host.
package consensus
