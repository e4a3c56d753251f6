package replica

import (
	"strings"
	"time"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/internal/storagesvc"
)

// Journal writes the storage service's changes to the binlog as upper-case records.
type Journal struct {
	W   *binlog.Writer
	Now func() time.Time // nil: time.Now
}

var _ storagesvc.Journal = (*Journal)(nil)

// Record writes c. An upload's timestamp is the one in its file ID (as FastDFS logs it),
// every other change's the current time.
func (j *Journal) Record(c storagesvc.Change) error {
	return j.W.Write(RecordOf(c, j.now()))
}

func (j *Journal) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// RecordOf maps a change to its binlog record.
func RecordOf(c storagesvc.Change, now time.Time) binlog.Record {
	r := binlog.Record{TS: now.Unix(), Op: binlog.Op(c.Op), Name: c.ID.Remote(), A: c.A, B: c.B}
	if c.Op == 'C' && (c.ID.Kind() == fileid.Normal || c.ID.Kind() == fileid.Appender) {
		r.TS = c.ID.CreatedUnix()
	}
	if c.Op == 'R' {
		r.Src = c.Old.Remote()
	}
	if c.Meta {
		r.Op, r.Name = binlog.Update, c.ID.Remote()+binlog.MetaSuffix
	}
	return r
}

// parseName parses a record's filename in group; meta is true for a metadata file name,
// and id then names the file the metadata belongs to.
func parseName(group, name string) (id fileid.ID, meta bool, err error) {
	if base, ok := strings.CutSuffix(name, binlog.MetaSuffix); ok {
		if id, err := fileid.ParseRemote(group, base); err == nil {
			return id, true, nil
		}
	}
	id, err = fileid.ParseRemote(group, name)
	return id, false, err
}
