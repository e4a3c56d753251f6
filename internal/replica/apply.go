package replica

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/depotfs/depot/internal/binlog"
	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/replicapb"
)

// chunks is an io.Reader over the data chunks following an Apply header.
type chunks struct {
	stream replicapb.ReplicaService_ApplyServer
	buf    []byte
	err    error
}

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		m, err := c.stream.Recv()
		if err != nil {
			c.err = err
			continue
		}
		ch, ok := m.GetMsg().(*replicapb.ApplyRequest_Chunk)
		if !ok {
			c.err = fmt.Errorf("%w: header after the first message", disk.ErrInvalid)
			continue
		}
		c.buf = ch.Chunk
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// drain reads the rest of the stream (content not used).
func (c *chunks) drain() {
	_, _ = io.Copy(io.Discard, c)
}

// Apply applies one record sent by a peer.
func (r *Receiver) Apply(stream replicapb.ReplicaService_ApplyServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus(fmt.Errorf("apply: first message is not a header: %w", disk.ErrInvalid))
	}
	id, err := r.parseID(h.GetFileId())
	if err != nil {
		return err
	}
	c := &chunks{stream: stream}
	needWhole, err := r.apply(stream, id, h, c)
	c.drain()
	if err != nil {
		r.log.Debug("replica apply failed", "op", h.GetOp(), "file_id", id.String(), "from", h.GetSenderKey(), "err", err)
		return toStatus(fmt.Errorf("apply %s %s from %s: %w", h.GetOp(), id, h.GetSenderKey(), err))
	}
	return stream.SendAndClose(&replicapb.ApplyResponse{NeedWhole: needWhole})
}

func (r *Receiver) apply(stream replicapb.ReplicaService_ApplyServer, id fileid.ID, h *replicapb.ApplyHeader, c *chunks) (needWhole bool, err error) {
	ctx := stream.Context()
	if len(h.GetOp()) != 1 || !binlog.Op(h.GetOp()[0]).Valid() {
		return false, fmt.Errorf("op %q: %w", h.GetOp(), disk.ErrInvalid)
	}
	op := binlog.Op(h.GetOp()[0]).Upper()
	rec := binlog.Record{TS: h.GetTs(), Op: op.Lower(), Name: id.Remote()}
	switch {
	case op == binlog.Delete:
		if err := r.store.Delete(id); err != nil && !errors.Is(err, disk.ErrNotFound) {
			return false, err
		}
		r.tomb(id.Remote(), h.GetTs())
	case h.GetWhole():
		if r.deletedAfter(id.Remote(), h.GetTs()) {
			r.log.Debug("dropping a copy of a file deleted here since", "file_id", id.String())
			return false, nil
		}
		err := r.store.PutReplica(ctx, id, c, disk.ReplicaOptions{
			Size: h.GetSize(), CRC32: h.GetCrc32(), Replace: id.Kind() != fileid.Normal,
		})
		if err != nil {
			return false, err
		}
		if h.GetHasMetadata() {
			if err := r.store.SetMeta(id, h.GetMetadata(), false); err != nil {
				return false, err
			}
		}
		if op == binlog.Rename {
			old, err := r.parseID(h.GetOldFileId())
			if err != nil {
				return false, err
			}
			if err := r.store.Delete(old); err != nil && !errors.Is(err, disk.ErrNotFound) {
				return false, err
			}
			rec.Src = old.Remote()
		} else if op != binlog.Create && op != binlog.Update {
			// A link or an append/modify/truncate answered with a whole copy: an update.
			rec.Op = binlog.Update.Lower()
		}
	case h.GetHasMetadata():
		if err := r.store.SetMeta(id, h.GetMetadata(), false); err != nil {
			return errors.Is(err, disk.ErrNotFound), ignoreNotFound(err)
		}
		rec.Op, rec.Name = binlog.Update.Lower(), id.Remote()+binlog.MetaSuffix
	case op == binlog.Append || op == binlog.Modify:
		if err := r.store.Modify(ctx, id, h.GetOffset(), c, h.GetLength()); err != nil {
			if errors.Is(err, disk.ErrNotFound) || errors.Is(err, disk.ErrInvalid) {
				return true, nil
			}
			return false, err
		}
		rec.A, rec.B = h.GetOffset(), h.GetLength()
	case op == binlog.Truncate:
		info, err := r.store.Stat(id)
		if errors.Is(err, disk.ErrNotFound) || err == nil && info.Size < h.GetLength() {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if err := r.store.Truncate(id, h.GetLength()); err != nil {
			return false, err
		}
		rec.A, rec.B = info.Size, h.GetLength()
	default:
		return false, fmt.Errorf("op %s without content: %w", h.GetOp(), disk.ErrInvalid)
	}
	if rec.TS <= 0 {
		rec.TS = time.Now().Unix()
	}
	return false, r.bl.Write(rec)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, disk.ErrNotFound) {
		return nil
	}
	return err
}
