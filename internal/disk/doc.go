// Package disk is a storage node's store: FastDFS store paths (store_pathN/data/XX/YY/name,
// 256×256 fan-out), metadata "-m" files, slave and appender files, trunk-file slices, and
// atomic durable writes.
//
// # Layout
//
// A store path is a directory holding data/XX/YY/ for XX, YY in 00..subdir_count-1 (%02X), the
// layout FastDFS writes, so a store path written by FastDFS is served as it is. Depot adds one
// directory, data/.depot-tmp/, where files are written before they get their name. Its name is
// not two hex digits, so no file ID can ever name a file in it, and Open empties it: whatever a
// crash left behind there is discarded.
//
// # Writes
//
// A new file is streamed into data/.depot-tmp/ (crc32 computed on the way, constant memory), then
// fsynced, then its ID is built (create time = mtime of the completed file), then it is renamed
// into data/XX/YY/ with a rename that never replaces an existing file, and the directory is
// fsynced. Only then is the ID returned. A file is therefore either absent or complete under
// its final name. Metadata files are replaced the same way (rename over the old one).
//
// Appender files are modified in place, as FastDFS does: append writes past the end then fsyncs
// and, on error, truncates back to the old size; modify overwrites in place.
//
// # Reads
//
// Open is on the HTTP download hot path: one open and one fstat for a regular file, one open and
// one pread of the 24-byte slot header for a trunk slice. The header is checked against the name
// (FastDFS's rule); any mismatch is ErrNotFound. The caller gets the *os.File, the offset and
// the size; it seeks itself.
//
// Trunk files are read and their slots freed on Delete; allocating new trunk slots is not done
// here.
package disk
