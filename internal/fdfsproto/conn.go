package fdfsproto

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Conn is one client connection as a Handler sees it.
type Conn struct {
	raw     net.Conn
	pre     []byte
	timeout time.Duration
	remain  int64 // body bytes of the current request not read yet
	replied bool
	broken  error // a read or write on the connection failed
	body    bodyReader
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *Conn) setReadDeadline() { c.raw.SetReadDeadline(time.Now().Add(c.timeout)) }

// Read reads from the connection (the sniffed bytes first), each call bounded by
// network_timeout.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	c.setReadDeadline()
	n, err := c.raw.Read(p)
	if err != nil && c.broken == nil && !errors.Is(err, io.EOF) {
		c.broken = err
	}
	return n, err
}

// Remaining is how many body bytes are still unread.
func (c *Conn) Remaining() int64 { return c.remain }

// Body is the rest of the request body as a stream; it ends after the declared length.
// A peer that sends less within network_timeout makes it fail (io.ErrUnexpectedEOF or a
// timeout), never hang.
func (c *Conn) Body() io.Reader {
	c.body.c = c
	return &c.body
}

type bodyReader struct{ c *Conn }

func (b *bodyReader) Read(p []byte) (int, error) {
	c := b.c
	if c.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.remain {
		p = p[:c.remain]
	}
	n, err := c.Read(p)
	c.remain -= int64(n)
	if err == io.EOF {
		c.broken = io.ErrUnexpectedEOF
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// ReadBody reads the whole remaining body, which must be at most max bytes (ErrTooLarge,
// checked before anything is allocated).
func (c *Conn) ReadBody(max int) ([]byte, error) {
	if c.remain > int64(max) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, c.remain, max)
	}
	return ReadSmall(c.Body(), c.remain, max)
}

// ReadFull reads exactly len(p) body bytes.
func (c *Conn) ReadFull(p []byte) error {
	if int64(len(p)) > c.remain {
		return Fail(StatusInval, fmt.Errorf("fdfs: body of %d bytes, expected at least %d more", c.remain, len(p)))
	}
	_, err := io.ReadFull(c.Body(), p)
	return err
}

// Reply answers with status and the concatenated body parts.
func (c *Conn) Reply(status byte, body ...[]byte) error {
	var n int64
	for _, b := range body {
		n += int64(len(b))
	}
	bufs := make(net.Buffers, 0, len(body)+1)
	bufs = append(bufs, Header{Len: n, Cmd: CmdResp, Status: status}.Bytes())
	for _, b := range body {
		if len(b) > 0 {
			bufs = append(bufs, b)
		}
	}
	c.replied = true
	c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := bufs.WriteTo(c.raw)
	return c.wrote(err)
}

// ReplyHeader starts a successful answer whose n body bytes the handler writes next.
func (c *Conn) ReplyHeader(n int64) error {
	c.replied = true
	c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.raw.Write(Header{Len: n, Cmd: CmdResp}.Bytes())
	return c.wrote(err)
}

func (c *Conn) wrote(err error) error {
	if err != nil && c.broken == nil {
		c.broken = err
	}
	return err
}

// sendChunk is how much one sendfile call may move before the write deadline is renewed.
const sendChunk = 4 << 20

// SendFile writes n bytes of f from off to the connection (sendfile(2) on TCP), each
// 4 MiB bounded by network_timeout. f's position is moved: f must be the caller's own.
func (c *Conn) SendFile(f *os.File, off, n int64) error {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return c.wrote(err)
	}
	for n > 0 {
		k := min(n, sendChunk)
		c.raw.SetWriteDeadline(time.Now().Add(c.timeout))
		m, err := io.CopyN(c.raw, f, k)
		n -= m
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return c.wrote(err)
		}
	}
	return nil
}
