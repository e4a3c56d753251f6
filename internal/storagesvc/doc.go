// Package storagesvc is the storage node's gRPC service (depot.storage.v1.StorageService)
// over a disk.Store.
//
// Data moves in 256 KiB chunks with pooled buffers, so memory stays constant whatever the
// file size: an upload hands disk.Store an io.Reader that pulls chunks off the client stream
// (a client that goes away makes that reader fail, and the store drops its temp file); a
// download reads the opened file with ReadAt in chunks.
//
// The same operations serve FastDFS's binary protocol (native.go, native_files.go:
// ServeFDFS, an fdfsproto.Handler), so both protocols share the store, the journal and the
// counters.
//
// File IDs in requests are full IDs, "group/M00/XX/YY/name"; the group must be the node's
// own. Every error leaves the service through toStatus, the one mapping of Depot errors to
// gRPC codes, or for FastDFS's protocol through fdfsErr, the one mapping to errno statuses.
package storagesvc
