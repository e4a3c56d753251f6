// Package membership is Depot's tracker gossip layer: a thin wrapper over
// hashicorp/memberlist, the only package that imports it.
//
// Trackers find each other and detect failures through gossip. Each tracker
// is one memberlist node named by its stable node ID and carrying a small
// binary Meta (its gRPC address, its Raft address and whether it already
// belongs to a Raft cluster), see [Meta] and [DecodeMeta].
//
// Membership changes are delivered as typed [Event] values on the channel
// returned by [Membership.Events]. memberlist calls its delegates from its
// own goroutines while holding internal locks, so the delegates here never
// block: they append to a bounded in-memory queue that a pump goroutine
// drains into the channel. A consumer that falls behind by more than the
// queue size loses the oldest events (logged) and should reconcile from
// [Membership.Members], which is always current.
//
// Every listener binds to Config.BindAddr; tests run each node on its own
// 127.0.0.x address. Config.Reachable is a test hook that simulates network
// partitions by dropping packets and refusing streams to and from cut hosts.
package membership
