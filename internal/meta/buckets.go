package meta

// Bucket names: every bucket of the tracker's bbolt file is listed here.
var (
	bucketInfo     = []byte("info")     // schema version
	bucketGroups   = []byte("groups")   // group name → Group
	bucketStorages = []byte("storages") // group "\x00" storage key → Storage
	bucketCursors  = []byte("cursors")  // cursor name → uint64 (decimal text)
)

// allBuckets are created when the file is opened.
var allBuckets = [][]byte{bucketInfo, bucketGroups, bucketStorages, bucketCursors}

// keySchema in bucketInfo holds the schema version of the file.
var keySchema = []byte("schema")

// schemaVersion is the version of the record layout this package writes.
const schemaVersion = "1"

// Bucket names of the consensus log file (LogStore), a separate bbolt file beside the
// tracker's, listed here with the others.
var (
	bucketLogEntries = []byte("raft-logs")   // big-endian index → log entry
	bucketLogStable  = []byte("raft-stable") // stable key → value (term, vote, …)
	bucketLogPeers   = []byte("peers")       // peer ID → peer record
)

var logBuckets = [][]byte{bucketLogEntries, bucketLogStable, bucketLogPeers}

// Bucket names of a storage node's download-accounting file (DownloadStore), a bbolt file of
// its own under the storage's base path, listed here with the others.
var (
	bucketDLProgress = []byte("dl-progress") // user "\x00" file ID → progress record (the accountant's)
	bucketDLEvents   = []byte("dl-events")   // big-endian sequence → queued completion event
)

var downloadBuckets = [][]byte{bucketDLProgress, bucketDLEvents}

// Bucket names of a storage node's statistics file (StatsStore), a bbolt file of its own under
// the storage's base path, listed here with the others.
var (
	bucketStatsLive    = []byte("stats-live")    // day "\x00" key → counters counted live
	bucketStatsLog     = []byte("stats-log")     // day "\x00" key → counters imported from logs
	bucketStatsSources = []byte("stats-sources") // sha256 of an imported log file → import record
)

var statsBuckets = [][]byte{bucketStatsLive, bucketStatsLog, bucketStatsSources}
