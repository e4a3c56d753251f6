package trunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fileid"
)

// UploadRequest is a new file a client sends.
type UploadRequest struct {
	R         io.Reader
	Size      int64 // announced size, -1 when unknown
	Ext       string
	PathIndex int // -1: the store chooses
	// BeforeCommit is called with the ID before the slot header is written.
	BeforeCommit func(fileid.ID) error
}

// Upload stores a file in a trunk slot when trunk files are on and it fits slot_max_size.
// It returns the ID, or (when the file does not go to a slot: too large, trunk files off,
// no trunk server reachable) a reader with the whole upload for a normal file. The bytes
// are read into memory first (at most slot_max_size), so the slot is held only for the
// write: data, fsync, header, fsync, under the fence.
func (n *Node) Upload(ctx context.Context, req UploadRequest) (fileid.ID, io.Reader, error) {
	p := n.Params()
	if !p.Enabled || req.Size >= 0 && !p.Fits(req.Size) {
		return fileid.ID{}, req.R, nil
	}
	limit := int64(p.SlotMaxSize) - HeaderSize
	if req.Size >= 0 {
		limit = req.Size
	}
	// One byte past the limit shows an overrun; an unknown size grows the buffer as it comes.
	var b bytes.Buffer
	if req.Size >= 0 {
		b.Grow(int(limit) + 1)
	}
	read, err := b.ReadFrom(io.LimitReader(req.R, limit+1))
	got := int(read)
	switch {
	case err != nil:
		return fileid.ID{}, nil, err
	case read > limit && req.Size >= 0:
		return fileid.ID{}, nil, fmt.Errorf("%w: more than %d bytes", disk.ErrTooLarge, req.Size)
	case read > limit: // unknown size, larger than a slot
		return fileid.ID{}, bytesReader(b.Bytes(), req.R), nil
	}
	data := b.Bytes()
	if req.Size >= 0 && int64(got) < req.Size {
		return fileid.ID{}, nil, fmt.Errorf("%w: %d of %d bytes", disk.ErrTruncated, got, req.Size)
	}
	if err := ctx.Err(); err != nil {
		return fileid.ID{}, nil, err
	}
	path, err := n.o.Store.PickPath(req.PathIndex, int64(got))
	if err != nil {
		return fileid.ID{}, nil, err
	}
	l, gen, err := n.allocate(ctx, path, int64(got))
	if err != nil {
		n.log.Debug("no trunk slot: storing a normal file", "size", got, "err", err)
		return fileid.ID{}, bytesReader(data, nil), nil
	}
	var id fileid.ID
	werr := n.fence.write(gen, func() error {
		var err error
		id, err = n.o.Store.WriteTrunk(disk.TrunkLoc{
			Path: int(l.Path), Dir1: l.Dir1, Dir2: l.Dir2,
			Slot: fileid.TrunkSlot{File: l.File, Offset: l.Offset, Size: l.Size},
		}, data, req.Ext, req.BeforeCommit)
		return err
	})
	if werr != nil {
		if rerr := n.release(ctx, l, gen); rerr != nil {
			n.log.Debug("releasing a trunk slot after a failed write", "slot", l.String(), "err", rerr)
		}
		if errors.Is(werr, ErrStale) {
			n.log.Info("trunk slot from a superseded trunk server: storing a normal file", "slot", l.String())
			return fileid.ID{}, bytesReader(data, nil), nil
		}
		return fileid.ID{}, nil, werr
	}
	if err := n.confirm(ctx, id, gen); err != nil {
		// The slot is written and fenced: it is safe; only its delete cannot give it back
		// before the next rebuild.
		n.log.Warn("trunk slot written but not confirmed", "file_id", id.String(), "err", err)
	}
	return id, nil, nil
}
