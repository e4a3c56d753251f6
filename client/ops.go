package client

import (
	"context"
	"time"

	"github.com/depotfs/depot/proto/storagepb"
)

// Delete removes a file and its metadata.
func (c *Client) Delete(ctx context.Context, fileID string) error {
	if c.trk != nil {
		return c.trk.onUpdate(ctx, "delete", fileID, func(s *Client) error { return s.Delete(ctx, fileID) })
	}
	_, err := c.rpc.Delete(ctx, &storagepb.DeleteRequest{FileId: fileID})
	return fromStatus(ctx, "delete", err)
}

// Truncate sets an appender file's size (at most its current size).
func (c *Client) Truncate(ctx context.Context, fileID string, size int64) error {
	if c.trk != nil {
		return c.trk.onUpdate(ctx, "truncate", fileID, func(s *Client) error { return s.Truncate(ctx, fileID, size) })
	}
	_, err := c.rpc.Truncate(ctx, &storagepb.TruncateRequest{FileId: fileID, Size: size})
	return fromStatus(ctx, "truncate", err)
}

// Metadata returns a file's metadata; a file without metadata gives an empty map.
func (c *Client) Metadata(ctx context.Context, fileID string) (map[string]string, error) {
	if c.trk != nil {
		var m map[string]string
		err := c.trk.onFetch(ctx, "get metadata", fileID, func(s *Client) (err error) { m, err = s.Metadata(ctx, fileID); return err })
		return m, err
	}
	resp, err := c.rpc.GetMetadata(ctx, &storagepb.GetMetadataRequest{FileId: fileID})
	if err != nil {
		return nil, fromStatus(ctx, "get metadata", err)
	}
	m := resp.GetMetadata()
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// SetMetadata merges m into a file's metadata (merge) or replaces it (!merge).
func (c *Client) SetMetadata(ctx context.Context, fileID string, m map[string]string, merge bool) error {
	if c.trk != nil {
		return c.trk.onUpdate(ctx, "set metadata", fileID, func(s *Client) error { return s.SetMetadata(ctx, fileID, m, merge) })
	}
	_, err := c.rpc.SetMetadata(ctx, &storagepb.SetMetadataRequest{FileId: fileID, Metadata: m, Merge: merge})
	return fromStatus(ctx, "set metadata", err)
}

// Kind is the sort of file an ID names.
type Kind string

// The kinds of file.
const (
	KindNormal   Kind = "normal"
	KindAppender Kind = "appender"
	KindSlave    Kind = "slave"
	KindTrunk    Kind = "trunk" // a slice of a trunk file (small-file merging)
	KindUnknown  Kind = "unknown"
)

// TrunkSlot locates a trunk file's slice inside its trunk file.
type TrunkSlot struct {
	File   uint32 // trunk file id: data/XX/YY/<%06d>
	Offset uint32 // offset of the slot's 24-byte header
	Size   uint32 // allocated slot size, header included
}

// FileInfo describes a stored file.
type FileInfo struct {
	Size     int64
	Created  time.Time // create time encoded in the file ID
	Modified time.Time // the stored file's modification time
	CRC32    uint32    // from the ID for normal and trunk files; 0 for appender and slave files
	SourceIP string    // the ID's source bytes read as IPv4
	SourceID uint32    // the storage server id when the source reads as one, else 0
	Kind     Kind
	Trunk    *TrunkSlot // non-nil for a trunk file
}

// Info asks the storage node about a file.
func (c *Client) Info(ctx context.Context, fileID string) (FileInfo, error) {
	if c.trk != nil {
		var fi FileInfo
		err := c.trk.onFetch(ctx, "file info", fileID, func(s *Client) (err error) { fi, err = s.Info(ctx, fileID); return err })
		return fi, err
	}
	r, err := c.rpc.FileInfo(ctx, &storagepb.FileInfoRequest{FileId: fileID})
	if err != nil {
		return FileInfo{}, fromStatus(ctx, "file info", err)
	}
	fi := FileInfo{
		Size:     r.GetSize(),
		Created:  time.Unix(r.GetCreateTime(), 0),
		Modified: time.Unix(r.GetModTime(), 0),
		CRC32:    r.GetCrc32(),
		SourceIP: r.GetSourceIp(),
		SourceID: r.GetSourceId(),
		Kind:     kindOf(r.GetKind()),
	}
	if t := r.GetTrunk(); t != nil {
		fi.Trunk = &TrunkSlot{File: t.GetTrunkFile(), Offset: t.GetOffset(), Size: t.GetSize()}
	}
	return fi, nil
}

func kindOf(k storagepb.FileKind) Kind {
	switch k {
	case storagepb.FileKind_FILE_KIND_NORMAL:
		return KindNormal
	case storagepb.FileKind_FILE_KIND_APPENDER:
		return KindAppender
	case storagepb.FileKind_FILE_KIND_SLAVE:
		return KindSlave
	case storagepb.FileKind_FILE_KIND_TRUNK:
		return KindTrunk
	}
	return KindUnknown
}
