package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/depotfs/depot/proto/storagepb"
)

// UploadOptions describe a new file.
type UploadOptions struct {
	// Ext is the extension without the dot, 0..6 characters ("" for none).
	Ext string
	// Size is the number of bytes r yields when known (> 0): the storage then refuses a
	// stream that ends early or runs past it. 0 or -1 means unknown: r is read to EOF.
	Size int64
	// Appender makes an appender file (Append, Modify and Truncate work on it).
	Appender bool
	// Metadata is stored with the file; the upload fails if it cannot be.
	Metadata map[string]string
	// StorePath is the store path index to write to (the NN of MNN); nil lets the
	// storage choose (in tracker mode: the tracker, by store_path).
	StorePath *int
	// Group is the group to upload to in tracker mode; "" lets the tracker choose by
	// store_lookup. A Client connected to one storage ignores it.
	Group string
}

func announced(size int64) int64 {
	if size <= 0 {
		return -1
	}
	return size
}

// Upload streams r to a new file and returns its file ID ("group/M00/XX/YY/name").
// Memory use is constant whatever the size. If r fails, the upload is aborted and the
// storage keeps nothing.
func (c *Client) Upload(ctx context.Context, r io.Reader, o UploadOptions) (string, error) {
	kind := storagepb.FileKind_FILE_KIND_NORMAL
	if o.Appender {
		kind = storagepb.FileKind_FILE_KIND_APPENDER
	}
	path := int32(-1)
	if o.StorePath != nil {
		path = int32(*o.StorePath)
	}
	h := &storagepb.UploadHeader{
		Kind: kind, Ext: o.Ext, StorePathIndex: path, Size: announced(o.Size), Metadata: o.Metadata,
	}
	if c.trk != nil {
		return c.trk.upload(ctx, "upload", r, h, o.Group)
	}
	return c.upload(ctx, "upload", r, h)
}

// UploadSlave streams r to the slave file of masterID with prefix and ext (ext "" keeps the
// master's extension) and returns the slave's file ID. Of o, only Size and Metadata apply.
func (c *Client) UploadSlave(ctx context.Context, masterID, prefix, ext string, r io.Reader, o UploadOptions) (string, error) {
	return c.upload(ctx, "upload slave", r, &storagepb.UploadHeader{
		Kind: storagepb.FileKind_FILE_KIND_SLAVE, Ext: ext, StorePathIndex: -1, Size: announced(o.Size),
		MasterFileId: masterID, Prefix: prefix, Metadata: o.Metadata,
	})
}

func (c *Client) upload(ctx context.Context, op string, r io.Reader, h *storagepb.UploadHeader) (string, error) {
	if c.trk != nil {
		return c.trk.upload(ctx, op, r, h, "")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Upload(ctx)
	if err != nil {
		return "", fromStatus(ctx, op, err)
	}
	if err := c.stream(ctx, cancel, op, r,
		func() error {
			return stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Header{Header: h}})
		},
		func(b []byte) error {
			return stream.Send(&storagepb.UploadRequest{Msg: &storagepb.UploadRequest_Chunk{Chunk: b}})
		},
	); err != nil {
		return "", err
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return "", fromStatus(ctx, op, err)
	}
	return resp.GetFileId(), nil
}

// Append streams r to the end of an appender file. size is the number of bytes r yields
// when known (> 0), else 0 or -1.
func (c *Client) Append(ctx context.Context, fileID string, r io.Reader, size int64) error {
	if c.trk != nil {
		return c.trk.onUpdate(ctx, "append", fileID, func(s *Client) error { return s.Append(ctx, fileID, r, size) })
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Append(ctx)
	if err != nil {
		return fromStatus(ctx, "append", err)
	}
	h := &storagepb.AppendHeader{FileId: fileID, Size: announced(size)}
	if err := c.stream(ctx, cancel, "append", r,
		func() error {
			return stream.Send(&storagepb.AppendRequest{Msg: &storagepb.AppendRequest_Header{Header: h}})
		},
		func(b []byte) error {
			return stream.Send(&storagepb.AppendRequest{Msg: &storagepb.AppendRequest_Chunk{Chunk: b}})
		},
	); err != nil {
		return err
	}
	_, err = stream.CloseAndRecv()
	return fromStatus(ctx, "append", err)
}

// Modify overwrites an appender file from offset (at most its size) with r.
func (c *Client) Modify(ctx context.Context, fileID string, offset int64, r io.Reader, size int64) error {
	if c.trk != nil {
		return c.trk.onUpdate(ctx, "modify", fileID, func(s *Client) error { return s.Modify(ctx, fileID, offset, r, size) })
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Modify(ctx)
	if err != nil {
		return fromStatus(ctx, "modify", err)
	}
	h := &storagepb.ModifyHeader{FileId: fileID, Offset: offset, Size: announced(size)}
	if err := c.stream(ctx, cancel, "modify", r,
		func() error {
			return stream.Send(&storagepb.ModifyRequest{Msg: &storagepb.ModifyRequest_Header{Header: h}})
		},
		func(b []byte) error {
			return stream.Send(&storagepb.ModifyRequest{Msg: &storagepb.ModifyRequest_Chunk{Chunk: b}})
		},
	); err != nil {
		return err
	}
	_, err = stream.CloseAndRecv()
	return fromStatus(ctx, "modify", err)
}

// stream sends the header and then r in chunks from a pooled buffer. A read error cancels
// the call (so the storage drops what it got) and is returned. A send that fails with
// io.EOF means the server ended the call: stream returns nil and the caller's CloseAndRecv
// reports the server's status.
func (c *Client) stream(ctx context.Context, cancel context.CancelFunc, op string, r io.Reader, header func() error, send func([]byte) error) error {
	sendErr := header()
	var readErr error
	if sendErr == nil {
		readErr, sendErr = c.pump(r, send)
	}
	switch {
	case readErr != nil:
		cancel()
		return fmt.Errorf("depot client: %s: reading data: %w", op, readErr)
	case sendErr != nil && !errors.Is(sendErr, io.EOF):
		return fromStatus(ctx, op, sendErr)
	}
	return nil
}

func (c *Client) pump(r io.Reader, send func([]byte) error) (readErr, sendErr error) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := *bp
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := send(buf[:n]); err != nil {
				return nil, err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
	}
}

// Download writes the file's bytes [offset, offset+length) to w (length 0: to the end)
// and returns how many it wrote. A range outside the file is ErrOutOfRange.
func (c *Client) Download(ctx context.Context, fileID string, w io.Writer, offset, length int64) (int64, error) {
	if c.trk != nil {
		return c.trk.download(ctx, fileID, w, offset, length)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Download(ctx, &storagepb.DownloadRequest{FileId: fileID, Offset: offset, Length: length})
	if err != nil {
		return 0, fromStatus(ctx, "download", err)
	}
	var written int64
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return written, nil
		}
		if err != nil {
			return written, fromStatus(ctx, "download", err)
		}
		n, err := w.Write(m.GetData())
		written += int64(n)
		if err != nil {
			return written, fmt.Errorf("depot client: download %s: writing: %w", fileID, err)
		}
	}
}
