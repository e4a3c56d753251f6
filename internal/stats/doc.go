// Package stats keeps a storage node's daily statistics: per day, counters under hierarchical
// keys ("h5", "h5.pv", "h5.pv.85", …; "download", "download.group1", …), counted live from the
// beacon and from download accounting, and imported after the fact from access logs (Depot's
// or nginx's combined format, plain or gzip, streamed).
//
// Live counts are summed in memory and written to the StatsStore (package meta) in one
// transaction every FlushInterval (1 s), so a crash loses at most that interval; importing the
// day's rotated access log repairs it, because a query takes, per counter, the larger of the
// live value and the imported one. Importing the same file again changes nothing.
//
// Days are calendar days in Config.Location (the local time zone by default, like the access
// log's timestamps).
package stats
