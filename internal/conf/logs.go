package conf

import (
	"fmt"

	"github.com/depotfs/depot/internal/logformat"
)

// LogRotation holds FastDFS's log_file_* keys of storage.conf (docs/logs.md). FastDFS applies
// them to its own log file; Depot, which logs itself to stderr, applies them to the HTTP
// access log.
type LogRotation struct {
	RotateEveryday     bool      // log_file_rotate_everyday (false)
	RotateTime         TimeOfDay // log_file_rotate_time (00:00)
	RotateOnSize       int64     // log_file_rotate_on_size: bytes, K/M/G suffixes allowed (0 = off)
	KeepDays           int       // log_file_keep_days: rotated files older than this go (0 = keep all)
	CompressOld        bool      // log_file_compress_old: gzip rotated files (false)
	CompressDaysBefore int       // log_file_compress_days_before: ... once this many days old (1)
	DeleteOldTime      TimeOfDay // log_file_delete_old_time: when old files are deleted (01:30)
}

// DefaultLogRotation returns FastDFS's defaults: no rotation, nothing compressed or deleted.
func DefaultLogRotation() LogRotation {
	return LogRotation{CompressDaysBefore: 1, DeleteOldTime: TimeOfDay{Hour: 1, Minute: 30}}
}

func (l *LogRotation) bind(b *binder) {
	b.boolean("log_file_rotate_everyday", &l.RotateEveryday)
	b.clock("log_file_rotate_time", &l.RotateTime)
	b.size("log_file_rotate_on_size", &l.RotateOnSize)
	b.integer("log_file_keep_days", &l.KeepDays)
	b.boolean("log_file_compress_old", &l.CompressOld)
	b.integer("log_file_compress_days_before", &l.CompressDaysBefore)
	b.clock("log_file_delete_old_time", &l.DeleteOldTime)
}

func (l *LogRotation) validate() []error {
	var errs []error
	for key, v := range map[string]int{"log_file_keep_days": l.KeepDays, "log_file_compress_days_before": l.CompressDaysBefore} {
		if v < 0 {
			errs = append(errs, keyErr(key, invalid("days (want >= 0)", fmt.Sprint(v))))
		}
	}
	return errs
}

// checkAccessLogFormat compiles http.access_log_format ("" = the default format).
func checkAccessLogFormat(format string) error {
	if format == "" {
		return nil
	}
	if _, err := logformat.Compile(format); err != nil {
		return keyErr("http.access_log_format", fmt.Errorf("%w: %w", err, ErrInvalidValue))
	}
	return nil
}
