// Package binlog is a storage's replication log: one text line per change to a stored file,
// in FastDFS's record format, appended and fsynced before the client gets its answer, rotated
// at a size limit, and read by one cursor per peer whose position survives restarts.
//
// Record: "<unix ts> <op> <remote filename>[ <extra>]\n". The remote filename is the file ID
// without its group ("M00/00/00/xxx.jpg"). Ops: C create, D delete, U whole-file update,
// L link (extra: source filename), R rename appender to normal (name: new, extra: old),
// A append and M modify (extra: "<offset> <length>"), T truncate (extra: "<old size>
// <new size>"). Upper case: the change originated on this storage; lower case: it was
// applied here as a replica. A metadata change is a U record on "<filename>-m", the name of
// the metadata file, as FastDFS writes it.
//
// Files: dir/binlog.000, binlog.001, … (three digits, more once past 999) and
// dir/binlog_index.dat (ini: current_write, current_compress). A file is complete once the
// next one exists. A torn last line left by a crash is cut off when the Writer opens.
//
// Cursors: a Mark (dir/<peer>.mark, ini keys binlog_index, binlog_offset, need_sync_old,
// sync_old_done, until_timestamp, scan_row_count, sync_row_count) is written atomically
// (temp file, fsync, rename, fsync of dir), so a restarted reader resumes exactly where the
// last saved mark points.
package binlog
