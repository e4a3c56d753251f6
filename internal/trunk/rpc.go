package trunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/trunkpb"
)

// scanChunk is how many slots one ScanChunk message carries.
const scanChunk = 4096

// LocOf returns the slot of a trunk file ID and the header its name promises.
func LocOf(id fileid.ID) (Loc, Header, bool) {
	slot, ok := id.Trunk()
	if !ok {
		return Loc{}, Header{}, false
	}
	h, _ := HeaderOf(id)
	d1, d2 := id.Dirs()
	return Loc{Path: uint8(id.StorePath()), Dir1: d1, Dir2: d2, File: slot.File, Offset: slot.Offset, Size: slot.Size}, h, true
}

func slotPB(l Loc) *trunkpb.Slot {
	return &trunkpb.Slot{Path: uint32(l.Path), Dir1: uint32(l.Dir1), Dir2: uint32(l.Dir2), File: l.File, Offset: l.Offset, Size: l.Size}
}

func locPB(s *trunkpb.Slot) Loc {
	return Loc{Path: uint8(s.GetPath()), Dir1: uint8(s.GetDir1()), Dir2: uint8(s.GetDir2()), File: s.GetFile(), Offset: s.GetOffset(), Size: s.GetSize()}
}

// toStatus maps the package's errors to gRPC codes (the one place that does).
func toStatus(err error) error {
	c := codes.Internal
	switch {
	case errors.Is(err, ErrNotServer), errors.Is(err, ErrStale):
		c = codes.FailedPrecondition
	case errors.Is(err, ErrNoSpace):
		c = codes.ResourceExhausted
	case errors.Is(err, ErrUnknown):
		c = codes.NotFound
	case errors.Is(err, ErrInvalid):
		c = codes.InvalidArgument
	}
	return status.Error(c, err.Error())
}

// serving returns the allocator when this node is the trunk server and no newer trunk
// server has fenced it.
func (n *Node) serving() (*serverRole, error) {
	n.mu.Lock()
	r := n.role
	n.mu.Unlock()
	if r == nil {
		return nil, ErrNotServer
	}
	n.fence.mu.RLock()
	fenced := n.fence.gen > r.gen
	n.fence.mu.RUnlock()
	if fenced {
		return nil, fmt.Errorf("%w: a newer trunk server scanned this storage", ErrStale)
	}
	return r, nil
}

// Alloc implements TrunkService.
func (n *Node) Alloc(_ context.Context, req *trunkpb.AllocRequest) (*trunkpb.AllocResponse, error) {
	r, err := n.serving()
	if err != nil {
		return nil, toStatus(err)
	}
	l, err := r.alloc.Alloc(uint8(req.GetPath()), req.GetSize())
	if err != nil {
		return nil, toStatus(err)
	}
	return &trunkpb.AllocResponse{Slot: slotPB(l), Generation: r.gen}, nil
}

// Confirm implements TrunkService.
func (n *Node) Confirm(_ context.Context, req *trunkpb.ConfirmRequest) (*trunkpb.ConfirmResponse, error) {
	r, err := n.serving()
	if err == nil && req.GetGeneration() != r.gen {
		err = fmt.Errorf("%w: confirm of generation %#x, serving %#x", ErrStale, req.GetGeneration(), r.gen)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	id, err := fileid.Parse(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: confirm: %w", ErrInvalid, err))
	}
	l, h, ok := LocOf(id)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: confirm: %s is not a trunk file", ErrInvalid, id))
	}
	if err := r.alloc.Confirm(l, h); err != nil {
		return nil, toStatus(err)
	}
	return &trunkpb.ConfirmResponse{}, nil
}

// Release implements TrunkService.
func (n *Node) Release(_ context.Context, req *trunkpb.ReleaseRequest) (*trunkpb.ReleaseResponse, error) {
	r, err := n.serving()
	if err == nil && req.GetGeneration() != r.gen {
		err = fmt.Errorf("%w: release of generation %#x, serving %#x", ErrStale, req.GetGeneration(), r.gen)
	}
	if err == nil {
		err = r.alloc.Release(locPB(req.GetSlot()))
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &trunkpb.ReleaseResponse{}, nil
}

// Free implements TrunkService.
func (n *Node) Free(_ context.Context, req *trunkpb.FreeRequest) (*trunkpb.FreeResponse, error) {
	r, err := n.serving()
	if err != nil {
		return nil, toStatus(err)
	}
	id, err := fileid.Parse(req.GetFileId())
	if err != nil {
		return nil, toStatus(fmt.Errorf("%w: free: %w", ErrInvalid, err))
	}
	l, h, ok := LocOf(id)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: free: %s is not a trunk file", ErrInvalid, id))
	}
	if err := r.alloc.Free(l, h); err != nil {
		return nil, toStatus(err)
	}
	return &trunkpb.FreeResponse{}, nil
}

// Scan implements TrunkService: the fence goes up first, then the headers are read.
func (n *Node) Scan(req *trunkpb.ScanRequest, stream trunkpb.TrunkService_ScanServer) error {
	var res ScanResult
	if err := n.fence.raise(req.GetGeneration(), func() error { return n.scanOwn(&res) }); err != nil {
		return toStatus(err)
	}
	msg := &trunkpb.ScanChunk{}
	for _, f := range res.Files {
		msg.Files = append(msg.Files, &trunkpb.TrunkFile{Path: uint32(f.Path), Dir1: uint32(f.Dir1), Dir2: uint32(f.Dir2), Id: f.ID, Size: f.Size})
	}
	for i, e := range res.Slots {
		var hdr [HeaderSize]byte
		e.Header.Encode(hdr[:])
		msg.Slots = append(msg.Slots, &trunkpb.SlotEntry{Slot: slotPB(e.Loc), Header: hdr[:], Torn: e.Torn})
		if len(msg.Slots) == scanChunk || i == len(res.Slots)-1 {
			if err := stream.Send(msg); err != nil {
				return err
			}
			msg = &trunkpb.ScanChunk{}
		}
	}
	if len(msg.Files) > 0 {
		return stream.Send(msg)
	}
	return nil
}

// Status implements TrunkService.
func (n *Node) Status(context.Context, *trunkpb.StatusRequest) (*trunkpb.StatusResponse, error) {
	r, err := n.serving()
	if err != nil {
		return &trunkpb.StatusResponse{}, nil
	}
	st := r.alloc.Stats()
	return &trunkpb.StatusResponse{
		Serving: true, Generation: r.gen, Complete: r.complete.Load(), Files: int64(st.Files), FileBytes: st.FileBytes,
		FreeBytes: st.FreeBytes, Used: int64(st.Used), Pending: int64(st.Pending),
	}, nil
}

// scanPeer asks member key to scan itself at gen and adds what it found to res.
func (n *Node) scanPeer(ctx context.Context, key, addr string, gen uint64, res *ScanResult) error {
	c, err := n.conn(key)
	if err != nil {
		return err
	}
	_ = addr
	stream, err := trunkpb.NewTrunkServiceClient(c).Scan(ctx, &trunkpb.ScanRequest{Generation: gen})
	if err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, f := range m.GetFiles() {
			res.Files = append(res.Files, FileInfo{Path: uint8(f.GetPath()), Dir1: uint8(f.GetDir1()), Dir2: uint8(f.GetDir2()), ID: f.GetId(), Size: f.GetSize()})
		}
		for _, s := range m.GetSlots() {
			h, err := DecodeHeader(s.GetHeader())
			if err != nil {
				return err
			}
			res.Slots = append(res.Slots, Entry{Loc: locPB(s.GetSlot()), Header: h, Torn: s.GetTorn()})
		}
	}
}

// client returns the trunk server's client, or the local role when this node is it.
func (n *Node) client() (trunkpb.TrunkServiceClient, *serverRole, error) {
	n.mu.Lock()
	server, self, role := n.server, n.self, n.role
	n.mu.Unlock()
	if server == "" {
		return nil, nil, fmt.Errorf("%w: the trackers named no trunk server yet", ErrNotServer)
	}
	if server == self {
		if role == nil {
			return nil, nil, ErrNotServer
		}
		return nil, role, nil
	}
	c, err := n.conn(server)
	if err != nil {
		return nil, nil, err
	}
	return trunkpb.NewTrunkServiceClient(c), nil, nil
}

// allocate gets a slot for size bytes on path from the trunk server.
func (n *Node) allocate(ctx context.Context, path int, size int64) (Loc, uint64, error) {
	cl, role, err := n.client()
	if err != nil {
		return Loc{}, 0, err
	}
	if role != nil {
		if _, err := n.serving(); err != nil {
			return Loc{}, 0, err
		}
		l, err := role.alloc.Alloc(uint8(path), size)
		return l, role.gen, err
	}
	resp, err := cl.Alloc(ctx, &trunkpb.AllocRequest{Path: uint32(path), Size: size})
	if err != nil {
		return Loc{}, 0, err
	}
	return locPB(resp.GetSlot()), resp.GetGeneration(), nil
}

// confirm tells the trunk server which file now lives in a slot.
func (n *Node) confirm(ctx context.Context, id fileid.ID, gen uint64) error {
	_, err := n.call(func(cl trunkpb.TrunkServiceClient) error {
		_, err := cl.Confirm(ctx, &trunkpb.ConfirmRequest{FileId: id.String(), Generation: gen})
		return err
	}, func(r *serverRole) error {
		if r.gen != gen {
			return ErrStale
		}
		l, h, _ := LocOf(id)
		return r.alloc.Confirm(l, h)
	})
	return err
}

// release gives back a slot whose write failed.
func (n *Node) release(ctx context.Context, l Loc, gen uint64) error {
	_, err := n.call(func(cl trunkpb.TrunkServiceClient) error {
		_, err := cl.Release(ctx, &trunkpb.ReleaseRequest{Slot: slotPB(l), Generation: gen})
		return err
	}, func(r *serverRole) error {
		if r.gen != gen {
			return ErrStale
		}
		return r.alloc.Release(l)
	})
	return err
}

// Freed tells the trunk server that the trunk file id was deleted here (the storage where
// the delete was asked; replicas do not), so its slot can be handed out again.
func (n *Node) Freed(ctx context.Context, id fileid.ID) error {
	if _, _, ok := LocOf(id); !ok {
		return nil
	}
	_, err := n.call(func(cl trunkpb.TrunkServiceClient) error {
		_, err := cl.Free(ctx, &trunkpb.FreeRequest{FileId: id.String()})
		return err
	}, func(r *serverRole) error {
		l, h, _ := LocOf(id)
		return r.alloc.Free(l, h)
	})
	return err
}

// call runs remote against the trunk server, or local when this node is it.
func (n *Node) call(remote func(trunkpb.TrunkServiceClient) error, local func(*serverRole) error) (bool, error) {
	cl, role, err := n.client()
	if err != nil {
		return false, err
	}
	if role != nil {
		return true, local(role)
	}
	return false, remote(cl)
}

// bytesReader is the prefix read from an upload, for the normal-file fallback.
func bytesReader(b []byte, rest io.Reader) io.Reader {
	if rest == nil {
		return bytes.NewReader(b)
	}
	return io.MultiReader(bytes.NewReader(b), rest)
}
