// Package logfile is a log file that rotates itself: at a time of day, by size, and on demand
// (Reopen, for logrotate), and that compresses and deletes its old files in the background.
// It applies FastDFS's log_file_* keys of storage.conf to Depot's access log.
//
// # Whole lines
//
// A Writer never splits what one Write call hands it: rotation happens between Write calls,
// under the same mutex as the write. The caller therefore writes whole lines (one or many per
// call, never part of one), and every line lands in exactly one file. Writes may come from
// several goroutines; the HTTP module writes from one (its access-log goroutine), so a
// rotation never blocks a download.
//
// # Files
//
// The live file is Options.Path, say logs/access.log. A rotation renames it to
// logs/access.YYYY-MM-DD.log and opens a fresh logs/access.log:
//
//   - rotation by time (RotateDaily, at RotateAt local time of the clock) names the file by the
//     day its lines belong to: the day on which the period that just ended began. With the
//     default 00:00 that is the day that just ended;
//   - rotation by size names it by the current period's day;
//   - when that name is taken (a second rotation on the same day, or its .gz), the file gets a
//     counter before the extension: access.YYYY-MM-DD.1.log, .2.log, and so on;
//   - a path without an extension ("access") gives access.YYYY-MM-DD and access.YYYY-MM-DD.1;
//   - an empty file is not rotated: a quiet day leaves no file.
//
// # Background work
//
// Compression and deletion never run under the write path: one goroutine does them, after a
// rotation (compression) and daily at DeleteAt (compression and deletion). A rotated file is
// gzipped (to name.gz, the original removed) once it is CompressDaysBefore days old by its
// name's date, and deleted once it is more than KeepDays days old. Only files whose names
// follow the pattern above are touched. A second goroutine wakes at the next rotation or
// deletion time (at least once a minute, so a changed system clock is noticed); it exists only
// when one of them is configured.
//
// # Clock
//
// Options.Now is the clock (tests inject one). Write and the timer goroutine both compare it
// with the next rotation time, so a rotation happens at the first of: the timer firing, or a
// write once the time has passed.
package logfile
