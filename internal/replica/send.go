package replica

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/replicapb"
)

// chunkSize is the size of the data chunks sent.
const chunkSize = 256 << 10

// do sends one record, retrying with a capped backoff until it is applied, found
// permanently impossible (logged and skipped), or ctx ends (false: not done).
func (s *Sender) do(ctx context.Context, rec binlog.Record) bool {
	wait := 100 * time.Millisecond
	corrupt := 0
	for {
		err := s.send(ctx, rec)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if permanent(err) {
			s.log.Warn("peer refuses a record; skipping it", "record", rec.Line(), "err", err)
			return true
		}
		// A copy whose crc32 does not match: the file changed while it was read (retry), or
		// the source's bytes are damaged (retrying forever would stall every later record).
		if status.Code(err) == codes.DataLoss {
			if corrupt++; corrupt == maxCorrupt {
				s.log.Error("a file fails its crc32 check on every copy; skipping it", "record", rec.Line(), "err", err)
				return true
			}
		}
		s.log.Debug("replicating a record failed; retrying", "record", rec.Line(), "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.kicked():
			wait = 100 * time.Millisecond
		case <-t.C:
			wait = min(2*wait, s.o.MaxBackoff)
		}
		t.Stop()
	}
}

// maxCorrupt is how many copies of a file may fail their crc32 check before it is skipped.
const maxCorrupt = 5

// permanent tells errors that retrying cannot fix: the peer refuses the record (bad input,
// another group, a store path it lacks).
func permanent(err error) bool {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.Unimplemented, codes.NotFound:
		return true
	}
	return errors.Is(err, fileid.ErrInvalid)
}

// send ships one record.
func (s *Sender) send(ctx context.Context, rec binlog.Record) error {
	id, meta, err := parseName(s.o.Group, rec.Name)
	if err != nil {
		return err
	}
	h := &replicapb.ApplyHeader{SenderKey: s.o.Self, Op: string(rune(rec.Op.Upper())), FileId: id.String(), Ts: rec.TS}
	switch rec.Op.Upper() {
	case binlog.Delete:
		_, err := s.call(ctx, h, nil)
		return err
	case binlog.Rename:
		old, err := fileid.ParseRemote(s.o.Group, rec.Src)
		if err != nil {
			return err
		}
		h.OldFileId = old.String()
		return s.whole(ctx, h, id)
	case binlog.Append, binlog.Modify:
		return s.sendRange(ctx, h, id, rec.A, rec.B)
	case binlog.Truncate:
		h.Length = rec.B
		need, err := s.call(ctx, h, nil)
		if err == nil && need {
			h.Op = string(binlog.Update)
			return s.whole(ctx, h, id)
		}
		return err
	}
	if meta {
		m, err := s.o.Store.Meta(id)
		if errors.Is(err, disk.ErrNotFound) {
			return nil // deleted since: its delete follows
		}
		if err != nil {
			return err
		}
		h.Op, h.HasMetadata, h.Metadata = string(binlog.Update), true, m
		need, err := s.call(ctx, h, nil)
		if err == nil && need {
			h.Op = string(binlog.Create)
			return s.whole(ctx, h, id)
		}
		return err
	}
	return s.whole(ctx, h, id)
}

// whole copies the file's whole current content (and metadata) unless the peer has it.
func (s *Sender) whole(ctx context.Context, h *replicapb.ApplyHeader, id fileid.ID) error {
	f, err := s.o.Store.Open(id)
	if errors.Is(err, disk.ErrNotFound) {
		return nil // deleted or renamed since: a later record says so
	}
	if err != nil {
		return err
	}
	defer f.F.Close()
	crc := id.CRC32()
	if id.Kind() != fileid.Normal {
		hs := crc32.NewIEEE()
		if _, err := io.Copy(hs, io.NewSectionReader(f.F, f.Offset, f.Size)); err != nil {
			return err
		}
		crc = hs.Sum32()
	}
	m, err := s.o.Store.Meta(id)
	if err != nil && !errors.Is(err, disk.ErrNotFound) {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	resp, err := s.cl.Check(cctx, &replicapb.CheckRequest{FileId: id.String(), Size: f.Size, Crc32: crc})
	cancel()
	if err != nil {
		return err
	}
	h.HasMetadata, h.Metadata = true, m
	if resp.GetPresent() && h.GetOldFileId() == "" {
		if len(m) == 0 {
			return nil
		}
		h.Whole = false
		_, err := s.call(ctx, h, nil)
		return err
	}
	h.Whole, h.Size, h.Crc32 = true, f.Size, crc
	cctx, cancel = context.WithTimeout(ctx, callTimeout(f.Size))
	defer cancel()
	_, err = s.call(cctx, h, io.NewSectionReader(f.F, f.Offset, f.Size))
	return err
}

// sendRange ships an append or modify as the bytes now at [off, off+n), or a whole copy
// when the file is shorter than that or the peer cannot apply it in place.
func (s *Sender) sendRange(ctx context.Context, h *replicapb.ApplyHeader, id fileid.ID, off, n int64) error {
	f, err := s.o.Store.Open(id)
	if errors.Is(err, disk.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.F.Close()
	if f.Size < off+n {
		h.Op = string(binlog.Update)
		return s.whole(ctx, h, id)
	}
	h.Offset, h.Length = off, n
	need, err := s.call(ctx, h, io.NewSectionReader(f.F, f.Offset+off, n))
	if err == nil && need {
		h.Op, h.Offset, h.Length = string(binlog.Update), 0, 0
		return s.whole(ctx, h, id)
	}
	return err
}

// callTimeout bounds one Apply carrying n bytes: a minute plus 1 s per MiB (a peer that
// stops answering without closing the connection is retried, not waited for forever).
func callTimeout(n int64) time.Duration {
	return time.Minute + time.Duration(n>>20)*time.Second
}

// call sends a header and body (nil: none) as one Apply stream.
func (s *Sender) call(ctx context.Context, h *replicapb.ApplyHeader, body io.Reader) (needWhole bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout(h.GetSize()+h.GetLength()))
	defer cancel()
	st, err := s.cl.Apply(cctx)
	if err != nil {
		return false, err
	}
	if err := st.Send(&replicapb.ApplyRequest{Msg: &replicapb.ApplyRequest_Header{Header: h}}); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	if body != nil {
		for {
			// A fresh buffer per message: gRPC may hold on to a sent message.
			buf := make([]byte, chunkSize)
			n, rerr := io.ReadFull(body, buf)
			if rerr == io.ErrUnexpectedEOF {
				rerr = io.EOF
			}
			if n > 0 {
				if err := st.Send(&replicapb.ApplyRequest{Msg: &replicapb.ApplyRequest_Chunk{Chunk: buf[:n]}}); err != nil {
					if errors.Is(err, io.EOF) {
						break // the server answered early: CloseAndRecv has it
					}
					return false, err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return false, rerr
			}
		}
	}
	resp, err := st.CloseAndRecv()
	if err != nil {
		return false, err
	}
	return resp.GetNeedWhole(), nil
}

type progressReq struct {
	synced, lagFiles, lagBytes int64
	done                       bool
}

func (s *Sender) progress(ctx context.Context, p *progressReq) error {
	_, err := s.cl.Progress(ctx, &replicapb.ProgressRequest{
		SenderKey: s.o.Self, SyncedTs: p.synced, LagFiles: p.lagFiles, LagBytes: p.lagBytes, InitialCopyDone: p.done,
	})
	return err
}
