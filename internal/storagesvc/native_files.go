package storagesvc

// The FastDFS commands on existing files: delete, download, metadata, file info and
// regenerate (native.go has the dispatch and the uploads).

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/proto/storagepb"
)

// fdfsDelete: group16 + name.
func (s *Service) fdfsDelete(c *fdfsproto.Conn) error {
	id, err := readGroupAndName(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout())
	defer cancel()
	if err := s.deleteFile(ctx, id); err != nil {
		return err
	}
	return c.Reply(fdfsproto.StatusOK)
}

// fdfsDownload: offset8 + bytes8 (0 = to the end) + group16 + name. As in FastDFS, an
// offset at or past the end is EINVAL (so is any offset of an empty file), and so is a
// length running past the end.
func (s *Service) fdfsDownload(c *fdfsproto.Conn) error {
	b, err := c.ReadBody(16 + nameBody)
	if err != nil {
		return err
	}
	if len(b) < 16 {
		return badBody("download: body of %d bytes", len(b))
	}
	raw, err := groupAndName(b[16:])
	if err != nil {
		return err
	}
	off, n := fdfsproto.Int64(b), fdfsproto.Int64(b[8:])
	id, err := s.parseID(raw)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	f, err := s.store.Open(id)
	if err != nil {
		return fmt.Errorf("download %s: %w", id, err)
	}
	defer f.F.Close()
	if off < 0 || n < 0 || off >= f.Size || n > f.Size-off {
		return fmt.Errorf("download %s: %w: offset %d bytes %d, file size %d", id, ErrRange, off, n, f.Size)
	}
	if n == 0 {
		n = f.Size - off
	}
	if err := c.ReplyHeader(n); err != nil {
		return err
	}
	return c.SendFile(f.F, f.Offset+off, n)
}

// fdfsSetMeta: name_len8 + meta_len8 + flag1 ('O' overwrite, 'M' merge) + group16 + name + meta.
func (s *Service) fdfsSetMeta(c *fdfsproto.Conn) error {
	b, err := c.ReadBody(metaBody)
	if err != nil {
		return err
	}
	const fixed = 8 + 8 + 1 + fdfsproto.GroupLen
	if len(b) < fixed {
		return badBody("set metadata: body of %d bytes", len(b))
	}
	nlen, mlen := fdfsproto.Int64(b), fdfsproto.Int64(b[8:])
	if nlen <= 0 || nlen > maxNameLen || mlen < 0 || int64(fixed)+nlen+mlen != int64(len(b)) {
		return badBody("set metadata: name of %d bytes and meta of %d, body of %d", nlen, mlen, len(b))
	}
	var merge bool
	switch b[16] {
	case 'O':
	case 'M':
		merge = true
	default:
		return badBody("set metadata: flag %q, want 'O' or 'M'", b[16])
	}
	id, err := fullID(fdfsproto.Fixed(b[17:fixed]), string(b[fixed:fixed+nlen]))
	if err != nil {
		return err
	}
	if err := s.setMeta(id, ParseFDFSMeta(b[fixed+nlen:]), merge); err != nil {
		return err
	}
	return c.Reply(fdfsproto.StatusOK)
}

// ParseFDFSMeta decodes FastDFS's metadata block: "name\x02value" records joined by "\x01".
func ParseFDFSMeta(b []byte) map[string]string {
	m := map[string]string{}
	for rec := range strings.SplitSeq(string(b), "\x01") {
		if rec == "" {
			continue
		}
		k, v, _ := strings.Cut(rec, "\x02")
		m[k] = v
	}
	return m
}

// FormatFDFSMeta encodes m as FastDFS's metadata block, names sorted.
func FormatFDFSMeta(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, 1)
		}
		b = append(append(append(b, k...), 2), m[k]...)
	}
	return b
}

// fdfsGetMeta: group16 + name → meta. A file without metadata is ENOENT, as in FastDFS
// (whose answer is the metadata file's bytes).
func (s *Service) fdfsGetMeta(c *fdfsproto.Conn) error {
	id, err := readGroupAndName(c)
	if err != nil {
		return err
	}
	m, err := s.getMeta(id)
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return fdfsproto.Fail(fdfsproto.StatusNoEnt, fmt.Errorf("get metadata of %s: none", id))
	}
	return c.Reply(fdfsproto.StatusOK, FormatFDFSMeta(m))
}

// fdfsFileInfo: group16 + name, flags in the header's status → size8 + create_time8 +
// crc32 8 + source ip16. The crc32 of an appender or slave file is computed unless flag 1.
// FastDFS keeps the crc32 in a C int, so a value of 2^31 or more goes out sign-extended;
// Depot sends the same bytes.
func (s *Service) fdfsFileInfo(c *fdfsproto.Conn, h fdfsproto.Header) error {
	raw, err := readGroupAndName(c)
	if err != nil {
		return err
	}
	info, err := s.fileInfo(raw)
	if err != nil {
		return err
	}
	crc := info.GetCrc32()
	if k := info.GetKind(); h.Status&fileInfoNoCRC == 0 && crc == 0 && (k == storagepb.FileKind_FILE_KIND_APPENDER || k == storagepb.FileKind_FILE_KIND_SLAVE) {
		id, _ := s.parseID(raw)
		if crc, err = s.store.Checksum(id); err != nil {
			return fmt.Errorf("file info of %s: crc32: %w", id, err)
		}
	}
	ip := info.GetSourceIp()
	width := 16
	if a, err := netip.ParseAddr(ip); err == nil && !a.Is4() {
		width = 46
	}
	out := make([]byte, 0, 24+width)
	out = fdfsproto.AppendInt64(out, info.GetSize())
	out = fdfsproto.AppendInt64(out, info.GetModTime())
	out = fdfsproto.AppendInt64(out, int64(int32(crc))) // sign-extended, as FastDFS sends its int
	out = fdfsproto.AppendFixed(out, ip, width)
	return c.Reply(fdfsproto.StatusOK, out)
}

// fdfsRegenerate: an appender's remote name → group16 + the new name of the same file as
// a normal file.
func (s *Service) fdfsRegenerate(c *fdfsproto.Conn) error {
	b, err := c.ReadBody(maxNameLen)
	if err != nil {
		return err
	}
	raw, err := fullID(s.group, string(b))
	if err != nil {
		return err
	}
	id, err := s.regenerate(raw)
	if err != nil {
		return err
	}
	return replyID(c, id)
}
