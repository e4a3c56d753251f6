// Package meta is the tracker's persistent state in one bbolt file: groups, the storages of
// each group (status, join time, last heartbeat, disk usage, sync progress) and the
// round-robin cursors of placement. It is the only package that imports bbolt; every bucket
// name is in buckets.go.
//
// Records are JSON values under string keys. A storage's key in its bucket is
// "<group>\x00<storage key>", so one group's storages are contiguous. Writes are one bbolt
// transaction each and are durable when the call returns; reads return copies. A DB is safe
// for concurrent use.
package meta
