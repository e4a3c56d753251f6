package replica

import (
	"context"
	"sync"
	"time"

	"github.com/depotfs/depot/internal/binlog"
)

// Run ships the binlog to the peer until ctx ends. It returns nil then.
func (s *Sender) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		r, ok := s.pass(ctx)
		if !ok {
			break
		}
		s.mu.Lock()
		s.mark = binlog.Mark{NeedSyncOld: r.source, UntilTS: r.until}
		s.synced = 0
		s.mu.Unlock()
		s.saveMark()
		s.log.Info("replication to peer starts over from the first record", "until_ts", r.until, "sync_source", r.source)
	}
	s.saveMark()
	return nil
}

// pass reads from the mark until ctx ends (ok false) or a resync is asked for (ok true).
func (s *Sender) pass(ctx context.Context) (resyncReq, bool) {
	m := s.Mark()
	rd := binlog.NewReader(s.o.Log.Dir(), m.Pos, s.log)
	defer rd.Close()
	w := newWindow(m.Pos)
	s.mu.Lock()
	s.inflight = w
	s.mu.Unlock()

	wctx, cancel := context.WithCancel(ctx)
	queues := make([]chan job, s.o.Concurrency)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan job, perWorkerQueue)
		q := queues[i]
		wg.Go(func() {
			for j := range q {
				if s.do(wctx, j.rec) {
					s.complete(j.seq)
				}
			}
		})
	}
	stop := func() {
		cancel()
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}
	lastSave, lastProgress := time.Now(), time.Time{}
	for {
		changed := s.o.Log.Changed()
		rec, pos, err := rd.Next()
		if time.Since(lastSave) > time.Second {
			s.saveMark()
			lastSave = time.Now()
		}
		if err != nil {
			if !isEOF(err) {
				s.log.Warn("reading binlog", "err", err)
			}
			s.maybeFinishCatchUp(w)
			if time.Since(lastProgress) >= progressEvery {
				s.sendProgress(ctx, true, rd.Pos())
				lastProgress = time.Now()
			}
			t := time.NewTimer(progressEvery)
			select {
			case <-ctx.Done():
				t.Stop()
				stop()
				return resyncReq{}, false
			case r := <-s.resync:
				t.Stop()
				stop()
				return r, true
			case <-changed:
			case <-s.kicked():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		s.mu.Lock()
		seq := w.add(pos, rec.TS)
		s.mark.ScanRows++
		send := ship(s.mark, rec)
		s.mu.Unlock()
		if !send {
			s.complete(seq)
			continue
		}
		if time.Since(lastProgress) >= progressEvery {
			s.sendProgress(ctx, false, rd.Pos())
			lastProgress = time.Now()
		}
		select {
		case queues[workerOf(rec.Name, len(queues))] <- job{seq: seq, rec: rec}:
		case <-ctx.Done():
			stop()
			return resyncReq{}, false
		case r := <-s.resync:
			stop()
			return r, true
		}
	}
}

// complete marks a record done and moves the cursor past every finished record.
func (s *Sender) complete(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.inflight
	s.mark.SyncRows += w.finish(seq)
	s.mark.Pos = w.start
}

// maybeFinishCatchUp ends the full copy once the binlog's end is reached with nothing in
// flight.
func (s *Sender) maybeFinishCatchUp(w *window) {
	s.mu.Lock()
	done := s.mark.NeedSyncOld && !s.mark.SyncOldDone && w.pending() == 0
	if done {
		s.mark.SyncOldDone = true
	}
	s.mu.Unlock()
	if done {
		s.saveMark()
		s.log.Info("full copy to peer done")
	}
}

// avgRecord is the assumed size of a binlog line when estimating unread records.
const avgRecord = 64

// sendProgress tells the peer how far it is; atEnd means the reader is at the binlog's end,
// read is the reader's position.
func (s *Sender) sendProgress(ctx context.Context, atEnd bool, read binlog.Position) {
	now := s.o.Now()
	s.mu.Lock()
	w := s.inflight
	wm := now.Add(-Slack).Unix()
	if ts, ok := w.oldestTS(); ok {
		wm = min(wm, ts-1)
	} else if !atEnd {
		wm = s.synced
	}
	wm = max(wm, s.synced)
	s.synced = wm
	pending := int64(w.pending())
	m := s.mark
	s.mu.Unlock()
	end := s.o.Log.End()
	lagBytes := binlog.Remaining(s.o.Log.Dir(), m.Pos, end)
	req := &progressReq{
		synced: wm, lagFiles: pending, lagBytes: lagBytes,
		done: m.NeedSyncOld && m.SyncOldDone,
	}
	if !atEnd {
		req.lagFiles += max(1, binlog.Remaining(s.o.Log.Dir(), read, end)/avgRecord)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.progress(cctx, req); err != nil && ctx.Err() == nil {
		s.log.Debug("progress report to peer failed", "err", err)
	}
}
