package storagesvc

import "sync/atomic"

// uploadCounters are the Service's upload totals.
type uploadCounters struct {
	stored, failed, bytes atomic.Uint64
}

// count records one Upload call: err != nil is a failure; else stored >= 0 is a stored file
// of that many bytes (stored < 0: a retry answered from its token, not counted).
func (c *uploadCounters) count(stored int64, err error) {
	switch {
	case err != nil:
		c.failed.Add(1)
	case stored >= 0:
		c.stored.Add(1)
		c.bytes.Add(uint64(stored))
	}
}

// UploadCounts are a Service's Upload totals since New.
type UploadCounts struct {
	Stored uint64 // files stored (normal, appender and slave)
	Bytes  uint64 // their bytes as received
	Failed uint64 // calls that ended in an error (bad request, no space, client gone, ...)
}

// Uploads returns the Service's upload totals (atomic reads).
func (s *Service) Uploads() UploadCounts {
	return UploadCounts{Stored: s.uploads.stored.Load(), Bytes: s.uploads.bytes.Load(), Failed: s.uploads.failed.Load()}
}
