package fastsrv

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// tlsPiece is the most plain text written to crypto/tls under one write deadline: one
// record's worth.
const tlsPiece = 16 << 10

// wireConn is the socket under a TLS connection: it counts the bytes written to it, which
// are what the client's TCP acknowledges (AckWatcher offsets).
type wireConn struct {
	net.Conn
	n atomic.Int64 // also written by a close_notify from Close on another goroutine
}

func (w *wireConn) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// handshake runs the TLS handshake within ReadHeaderTimeout. A client that spoke plain HTTP
// to the port gets a 400 saying so, in plain text, as net/http answers it.
func (c *conn) handshake() bool {
	c.raw.SetDeadline(time.Now().Add(c.srv.cfg.ReadHeaderTimeout))
	err := c.tls.Handshake()
	c.raw.SetDeadline(time.Time{})
	c.sock = c.wire.n.Load()
	if err == nil {
		st := c.tls.ConnectionState()
		c.req.TLS = &st
		return true
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) && rhe.Conn != nil && plainHTTP(rhe.RecordHeader[:]) {
		rhe.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(rhe.Conn, plainToTLS)
	}
	c.srv.cfg.Logger.Debug("tls handshake failed", "remote", c.req.RemoteAddr, "err", err)
	return false
}

const plainToTLS = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"This port serves HTTPS: the client sent a plain HTTP request. Use an https:// URL.\n"

// plainHTTP reports whether the first bytes of a connection look like an HTTP request line.
func plainHTTP(hdr []byte) bool {
	switch string(hdr) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE", "TRACE":
		return true
	}
	return false
}

// writeTLS writes b through crypto/tls in pieces of one record, each within SendTimeout. A
// tls.Conn whose write timed out is broken for good, so the deadline cannot be moved on after
// progress as on the raw socket: a piece that does not leave in SendTimeout is a client that
// stopped reading.
func (c *conn) writeTLS(b []byte) error {
	for len(b) > 0 {
		p := b[:min(len(b), tlsPiece)]
		c.raw.SetWriteDeadline(time.Now().Add(c.srv.cfg.SendTimeout))
		n, err := c.tls.Write(p)
		c.sock = c.wire.n.Load()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.srv.sendTimeouts.Add(1)
				c.srv.cfg.Logger.Info("send timeout: the client took no bytes; closing", "remote", c.req.RemoteAddr, "timeout", c.srv.cfg.SendTimeout)
			}
			return err
		}
		b = b[n:]
	}
	return nil
}

// copyTLS sends what is left of a file body (io.CopyN's *io.LimitedReader around an *os.File,
// or an *io.SectionReader) through the output buffer: with TLS the bytes must pass through
// user space to be encrypted, so they are read into the pooled buffer (after the header, for
// the first piece) and written from there, with no allocation. done is false for other
// readers and for a body longer than the declared Content-Length.
func (w *response) copyTLS(src io.Reader) (n int64, done bool, err error) {
	var left int64
	switch r := src.(type) {
	case *io.LimitedReader:
		if _, ok := r.R.(*os.File); !ok {
			return 0, false, nil
		}
		left = r.N
	case *io.SectionReader:
		pos, _ := r.Seek(0, io.SeekCurrent)
		left = r.Size() - pos
	default:
		return 0, false, nil
	}
	if w.clen >= 0 && w.sent+left > w.clen {
		return 0, false, nil
	}
	w.c.srv.bodies.tls.Add(1)
	for left > 0 {
		// Fill the buffer up to one record (header and body together for the first), so that
		// each write is one full record: one write(2), no short tail record.
		b := w.buffer()
		fill := min(cap(b), tlsPiece)
		if len(b) >= fill-readBufSize/4 {
			if err := w.flushBuf(); err != nil {
				return n, true, err
			}
			b = w.buffer()
		}
		room := min(int64(fill-len(b)), left)
		m, err := io.ReadFull(src, b[len(b):len(b)+int(room)])
		*w.buf = b[:len(b)+m]
		n, left, w.sent = n+int64(m), left-int64(m), w.sent+int64(m)
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = nil // a short file: the caller sees fewer bytes than it asked for
			}
			return n, true, err
		}
	}
	return n, true, nil
}
