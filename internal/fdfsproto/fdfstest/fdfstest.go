// Package fdfstest is a FastDFS protocol client for tests, written from the protocol
// description (spec §6) rather than from package fdfsproto, so that tests of Depot's
// servers check the bytes on the wire independently of the codec that produces them.
package fdfstest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// Frame builds a request: pkg_len (int64 big-endian, the body length), cmd, status, body.
func Frame(cmd, status byte, body ...[]byte) []byte {
	var n int
	for _, b := range body {
		n += len(b)
	}
	out := binary.BigEndian.AppendUint64(nil, uint64(n))
	out = append(out, cmd, status)
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

// I64 is a big-endian int64 field.
func I64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// Pad is s zero-padded to n bytes (group 16, ext 6, prefix 16, ip 15).
func Pad(s string, n int) []byte {
	b := make([]byte, n)
	copy(b, s)
	return b
}

// Client is one connection to a server.
type Client struct {
	t    testing.TB
	Conn net.Conn
}

// Dial connects to addr; the connection is closed at the end of the test.
func Dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("fdfstest: dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Client{t: t, Conn: c}
}

// Send writes raw bytes.
func (c *Client) Send(b []byte) {
	c.t.Helper()
	c.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Conn.Write(b); err != nil {
		c.t.Fatalf("fdfstest: send: %v", err)
	}
}

// Response is a decoded answer.
type Response struct {
	Raw    [10]byte // the header as received
	Len    int64
	Cmd    byte
	Status byte
	Body   []byte
}

// Recv reads one answer; a body above 64 MiB fails the test (use RecvHeader and Conn).
func (c *Client) Recv() Response {
	c.t.Helper()
	r := c.RecvHeader()
	if r.Len > 64<<20 {
		c.t.Fatalf("fdfstest: answer of %d bytes", r.Len)
	}
	r.Body = make([]byte, r.Len)
	if _, err := io.ReadFull(c.Conn, r.Body); err != nil {
		c.t.Fatalf("fdfstest: reading a %d-byte body: %v", r.Len, err)
	}
	return r
}

// RecvHeader reads one answer's header.
func (c *Client) RecvHeader() Response {
	c.t.Helper()
	var r Response
	c.Conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c.Conn, r.Raw[:]); err != nil {
		c.t.Fatalf("fdfstest: reading an answer header: %v", err)
	}
	r.Len = int64(binary.BigEndian.Uint64(r.Raw[:8]))
	r.Cmd, r.Status = r.Raw[8], r.Raw[9]
	return r
}

// Call sends a request and reads its answer, which must be a response (cmd 100).
func (c *Client) Call(cmd, status byte, body ...[]byte) Response {
	c.t.Helper()
	c.Send(Frame(cmd, status, body...))
	r := c.Recv()
	if r.Cmd != 100 {
		c.t.Fatalf("fdfstest: answer to cmd %d has cmd %d, want 100", cmd, r.Cmd)
	}
	return r
}

// ExpectClosed checks that the server closes the connection within d (a reset counts) and
// returns what it sent before.
func (c *Client) ExpectClosed(d time.Duration) []byte {
	c.t.Helper()
	c.Conn.SetReadDeadline(time.Now().Add(d))
	var got bytes.Buffer
	_, err := io.Copy(&got, c.Conn)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.t.Fatalf("fdfstest: connection not closed within %v (read % x): %v", d, got.Bytes(), err)
	}
	return got.Bytes()
}
