// Package tracker is Depot's tracker server: the TrackerService of proto/tracker.proto.
//
// A tracker knows the groups of a cluster and the storages in each group, from what the
// storages report: they Join every tracker and Heartbeat to it with disk usage per store
// path and sync progress per peer. Every tracker builds the same view on its own, so
// placement (QueryStore), download routing (QueryFetch, QueryUpdate), listing, parameters and
// OFFLINE marking all work on any single live tracker with no leader and no quorum. Only
// decisions that must be the same everywhere (deleting a storage, a group's trunk server
// with use_trunk_file) go through the Coordinator: the leader proposes them and every
// tracker's Server applies them in order (Apply). A follower passes DeleteStorage on to the
// leader.
//
// # Storage states
//
// States and numbers are FastDFS's (meta.Status). A new storage that has nothing to copy (its
// group has no other member with files, or no member that could be a source) is ONLINE on
// Join and ACTIVE on its first Heartbeat. Otherwise it is WAIT_SYNC with a sync source (a
// member with files, ACTIVE preferred) and sync_until = the join time; its reports move it
// on: sync progress from the source makes it SYNCING, initial_copy_done from the source makes
// it ONLINE, the next Heartbeat ACTIVE. Replication itself is not part of this package.
// ACTIVE or ONLINE storages that have not been heard from for check_active_interval are
// marked OFFLINE by Run's sweep (period CheckInterval, 1 s by default); a Heartbeat or Join
// brings an OFFLINE storage back. Only ACTIVE storages are readable or writable, as their
// storage_ids.conf rw= mode allows.
//
// # Persistence
//
// Every change of a group or storage is written to the meta DB before the call returns,
// except a heartbeat that changes nothing but the heartbeat time: that is written once half
// of check_active_interval has passed since the last write. The round-robin cursors are
// written every sweep. A restarted tracker loads everything and keeps the saved states, so
// it answers clients at once: a storage saved ACTIVE stays ACTIVE until it has been silent
// for check_active_interval counted from the tracker's start (Run), not from its saved last
// heartbeat: the tracker heard nothing while it was down, and a live storage reconnects
// after a backoff. The same holds after a sweep that ran very late (the tracker paused).
//
// # FastDFS's protocol
//
// ServeFDFS (native.go) answers FastDFS clients' tracker commands from the same functions as
// the gRPC methods; Node serves it on the gRPC port through an fdfsproto.Mux, or on
// native_port (native_node.go).
//
// # Cluster page
//
// ClusterView is the document of the cluster page (package clusterpage) that the node serves
// on its admin port: ListGroups' answer plus the tracker's recent events, a bounded ring it
// fills as it works (a storage marked OFFLINE by the sweep, a refused Join or Heartbeat, a
// write to the meta DB that failed, and the recoveries and stops that end a warning).
package tracker
