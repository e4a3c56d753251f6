package consensus

import (
	"errors"
	"io"

	"github.com/hashicorp/raft"
)

// Applier receives replicated decisions, in the same order on every
// tracker. Apply runs on raft's FSM goroutine: it must not block for long
// and must not call back into the Coordinator. After a restart the log is
// replayed from the beginning, so Apply must be idempotent (decisions such
// as "delete storage X" are).
type Applier interface {
	Apply(cmd []byte) error
}

// errNoSnapshots is returned if raft ever asks for a snapshot: the
// coordinator never compacts its log (decisions are rare and small), so
// every tracker, including one that joins late, replays the whole log.
var errNoSnapshots = errors.New("consensus: snapshots are not used")

// fsm adapts an Applier to raft.FSM.
type fsm struct {
	applier Applier
}

var _ raft.FSM = (*fsm)(nil)

// Apply hands command entries to the Applier; its error becomes the
// response seen by Propose on the leader.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand || f.applier == nil {
		return nil
	}
	return f.applier.Apply(l.Data)
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return nil, errNoSnapshots }

func (f *fsm) Restore(rc io.ReadCloser) error {
	_ = rc.Close()
	return errNoSnapshots
}
