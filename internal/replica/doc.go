// Package replica copies every change of a storage to the other storages of its group.
//
// Each storage writes its changes to its binlog (package binlog) before answering the
// client: upper-case records for changes made here, lower-case for changes applied as a
// replica. A Sender per peer reads the binlog from that peer's cursor (a mark file) and
// pushes each record over the ReplicaService (proto/replica.proto); the peer's Receiver
// applies it to its disk.Store and writes it to its own binlog in lower case.
//
// Normal mode ships upper-case records only. When the tracker makes this storage the sync
// source of a new (or wiped) peer, the sender starts over from the first record and also
// ships lower-case C/D/U/L/R records up to the tracker's until timestamp (and every
// lower-case delete), so the peer gets every file of the group; once the whole binlog is
// through it tells the peer, which reports initial_copy_done to the trackers. Every other
// member also restarts its cursor for such a peer and ships everything it originated.
//
// Apply is idempotent: a whole-file copy is skipped when the receiver already has the file
// with the same size and crc32 (Check), a delete of a missing file succeeds, append and
// modify write at an offset, and a change whose target is missing or too short asks for a
// whole-file copy instead. A replica is written to a scratch file and renamed into place
// only after its size and crc32 were checked, so no partial file is ever visible. A
// receiver remembers the deletes it applied (tombstones): a copy of a file older than its
// delete, arriving late from another peer, is dropped.
//
// Records of one file go through one worker in binlog order; different files go in
// parallel (Options.Concurrency), and the reader stops reading when that many records per
// worker are in flight (backpressure). The cursor advances only past records that every
// worker finished, so a restart resumes exactly there (records after it may be sent twice,
// which apply ignores). A failing peer is retried with a backoff capped at
// Options.MaxBackoff; Kick retries at once.
//
// Progress: the sender tells the receiver up to which timestamp its records are applied
// (with a two-second slack for changes being written while the binlog end was read) and
// how much is left; the receiver hands that to the trackers in its heartbeats.
package replica
