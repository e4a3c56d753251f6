package storagesvc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/depotfs/depot/internal/disk"
	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fileid"
	"github.com/depotfs/depot/proto/storagepb"
)

// The FastDFS storage commands (fdfsproto) over the same operations as the gRPC methods:
// the same store, journal (binlog and replication) and upload counters. Names in requests
// are remote file names without the group ("M00/00/00/xxx"), next to a 16-byte group field
// or, for the commands that carry none, in this node's group.

// Bounds of the bodies kept in memory.
const (
	maxNameLen    = 256                               // a remote file name
	maxMetaLen    = disk.MaxMetaSize                  // a SET_METADATA meta block
	nameBody      = fdfsproto.GroupLen + maxNameLen   // group16 + name
	metaBody      = 8 + 8 + 1 + nameBody + maxMetaLen // SET_METADATA
	fileInfoNoCRC = 1                                 // QUERY_FILE_INFO flag: no crc32 computing
)

var _ fdfsproto.Handler = (*Service)(nil)

// ServeFDFS serves one FastDFS storage request.
func (s *Service) ServeFDFS(ctx context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	var err error
	switch h.Cmd {
	case fdfsproto.CmdUpload, fdfsproto.CmdUploadAppender:
		err = s.fdfsUpload(ctx, c, h)
	case fdfsproto.CmdUploadSlave:
		err = s.fdfsUploadSlave(ctx, c, h)
	case fdfsproto.CmdAppend:
		err = s.fdfsAppend(ctx, c, h)
	case fdfsproto.CmdModify:
		err = s.fdfsModify(ctx, c, h)
	case fdfsproto.CmdTruncate:
		err = s.fdfsTruncate(c)
	case fdfsproto.CmdDelete:
		err = s.fdfsDelete(c)
	case fdfsproto.CmdDownload:
		err = s.fdfsDownload(c)
	case fdfsproto.CmdSetMetadata:
		err = s.fdfsSetMeta(c)
	case fdfsproto.CmdGetMetadata:
		err = s.fdfsGetMeta(c)
	case fdfsproto.CmdQueryFileInfo:
		err = s.fdfsFileInfo(c, h)
	case fdfsproto.CmdRegenerateName:
		err = s.fdfsRegenerate(c)
	default:
		return fdfsproto.Fail(fdfsproto.StatusNoSys, fmt.Errorf("storage: fdfs command %d: not supported", h.Cmd))
	}
	if err != nil {
		return fdfsErr(err)
	}
	return nil
}

// fdfsErr gives err its FastDFS status; it is the one mapping of Depot errors to errnos.
func fdfsErr(err error) error {
	var fe *fdfsproto.Error
	if errors.As(err, &fe) {
		return err
	}
	st := fdfsproto.StatusIO
	switch {
	case errors.Is(err, disk.ErrNotFound):
		st = fdfsproto.StatusNoEnt
	case errors.Is(err, disk.ErrNoSpace):
		st = fdfsproto.StatusNoSpace
	case errors.Is(err, disk.ErrExists):
		st = fdfsproto.StatusExist
	case errors.Is(err, disk.ErrReadOnly):
		st = fdfsproto.StatusAccess
	case errors.Is(err, disk.ErrTruncated), errors.Is(err, disk.ErrTooLarge),
		errors.Is(err, disk.ErrInvalid), errors.Is(err, disk.ErrNotAppender),
		errors.Is(err, fileid.ErrInvalid), errors.Is(err, ErrWrongGroup),
		errors.Is(err, ErrProtocol), errors.Is(err, ErrBadRequest), errors.Is(err, ErrRange),
		errors.Is(err, fdfsproto.ErrTooLarge):
		st = fdfsproto.StatusInval
	}
	return fdfsproto.Fail(st, err)
}

func badBody(format string, a ...any) error {
	return fdfsproto.Fail(fdfsproto.StatusInval, fmt.Errorf("storage: fdfs: "+format, a...))
}

// fullID joins a group field and a remote name into a file ID, refusing an empty or
// over-long name.
func fullID(group, name string) (string, error) {
	if name == "" || len(name) > maxNameLen {
		return "", badBody("file name of %d bytes", len(name))
	}
	return group + "/" + name, nil
}

// groupAndName splits a group16 + name body.
func groupAndName(b []byte) (string, error) {
	if len(b) <= fdfsproto.GroupLen {
		return "", badBody("body of %d bytes: want a group and a file name", len(b))
	}
	return fullID(fdfsproto.Fixed(b[:fdfsproto.GroupLen]), string(b[fdfsproto.GroupLen:]))
}

// readGroupAndName reads a group16 + name body (bounded by nameBody) and splits it.
func readGroupAndName(c *fdfsproto.Conn) (string, error) {
	b, err := c.ReadBody(nameBody)
	if err != nil {
		return "", err
	}
	return groupAndName(b)
}

// replyID answers an upload with group16 + remote name.
func replyID(c *fdfsproto.Conn, id string) error {
	g, name, _ := strings.Cut(id, "/")
	return c.Reply(fdfsproto.StatusOK, fdfsproto.AppendGroup(nil, g), []byte(name))
}

// fdfsUpload: path_index1 + size8 + ext6 + content.
func (s *Service) fdfsUpload(ctx context.Context, c *fdfsproto.Conn, h fdfsproto.Header) error {
	var head [15]byte
	if err := c.ReadFull(head[:]); err != nil {
		return err
	}
	size := fdfsproto.Int64(head[1:])
	if size < 0 || size != c.Remaining() {
		return badBody("upload: file size %d, body holds %d", size, c.Remaining())
	}
	// The path the tracker named, unless it is 255 or read-only here: then the store chooses
	// (as FastDFS's storage does).
	path := int32(head[0])
	if head[0] == 0xFF || s.store.ReadOnly(int(path)) {
		path = -1
	}
	kind := storagepb.FileKind_FILE_KIND_NORMAL
	if h.Cmd == fdfsproto.CmdUploadAppender {
		kind = storagepb.FileKind_FILE_KIND_APPENDER
	}
	id, err := s.uploadFile(ctx, &storagepb.UploadHeader{
		Kind: kind, Ext: fdfsproto.Fixed(head[9:]), StorePathIndex: path, Size: size,
	}, c.Body(), nil)
	if err != nil {
		return err
	}
	return replyID(c, id)
}

// fdfsUploadSlave: master_len8 + size8 + prefix16 + ext6 + master name + content.
func (s *Service) fdfsUploadSlave(ctx context.Context, c *fdfsproto.Conn, _ fdfsproto.Header) error {
	var head [38]byte
	if err := c.ReadFull(head[:]); err != nil {
		return err
	}
	mlen, size := fdfsproto.Int64(head[:]), fdfsproto.Int64(head[8:])
	if mlen <= 0 || mlen > maxNameLen || size < 0 || mlen+size != c.Remaining() {
		return badBody("upload slave: master name of %d bytes and file of %d, body holds %d", mlen, size, c.Remaining())
	}
	name := make([]byte, mlen)
	if err := c.ReadFull(name); err != nil {
		return err
	}
	id, err := s.uploadFile(ctx, &storagepb.UploadHeader{
		Kind: storagepb.FileKind_FILE_KIND_SLAVE, Ext: fdfsproto.Fixed(head[32:]), StorePathIndex: -1,
		Size: size, MasterFileId: s.group + "/" + string(name), Prefix: fdfsproto.Fixed(head[16:32]),
	}, c.Body(), nil)
	if err != nil {
		return err
	}
	return replyID(c, id)
}

// readLenName reads the fixed head (name_len8 first) and the name after it, checking that
// the body holds head + name + the data size given by dataSize(head).
func readLenName(c *fdfsproto.Conn, head []byte, dataSize func([]byte) int64) (string, error) {
	if err := c.ReadFull(head); err != nil {
		return "", err
	}
	nlen, size := fdfsproto.Int64(head), dataSize(head)
	if nlen <= 0 || nlen > maxNameLen || size < 0 || nlen+size != c.Remaining() {
		return "", badBody("file name of %d bytes and data of %d, body holds %d", nlen, size, c.Remaining())
	}
	name := make([]byte, nlen)
	if err := c.ReadFull(name); err != nil {
		return "", err
	}
	return string(name), nil
}

// fdfsAppend: name_len8 + size8 + appender name + content.
func (s *Service) fdfsAppend(ctx context.Context, c *fdfsproto.Conn, _ fdfsproto.Header) error {
	var head [16]byte
	name, err := readLenName(c, head[:], func(b []byte) int64 { return fdfsproto.Int64(b[8:]) })
	if err != nil {
		return err
	}
	if err := s.appendFile(ctx, s.group+"/"+name, fdfsproto.Int64(head[8:]), c.Body(), nil); err != nil {
		return err
	}
	return c.Reply(fdfsproto.StatusOK)
}

// fdfsModify: name_len8 + offset8 + size8 + name + content.
func (s *Service) fdfsModify(ctx context.Context, c *fdfsproto.Conn, _ fdfsproto.Header) error {
	var head [24]byte
	name, err := readLenName(c, head[:], func(b []byte) int64 { return fdfsproto.Int64(b[16:]) })
	if err != nil {
		return err
	}
	off, size := fdfsproto.Int64(head[8:]), fdfsproto.Int64(head[16:])
	if err := s.modifyFile(ctx, s.group+"/"+name, off, size, c.Body(), nil); err != nil {
		return err
	}
	return c.Reply(fdfsproto.StatusOK)
}

// fdfsTruncate: name_len8 + new_size8 + name.
func (s *Service) fdfsTruncate(c *fdfsproto.Conn) error {
	var head [16]byte
	name, err := readLenName(c, head[:], func([]byte) int64 { return 0 })
	if err != nil {
		return err
	}
	if err := s.truncateFile(s.group+"/"+name, fdfsproto.Int64(head[8:])); err != nil {
		return err
	}
	return c.Reply(fdfsproto.StatusOK)
}
