package fastsrv

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"
)

// response is the connection's http.ResponseWriter, reset for every request.
type response struct {
	c          *conn
	hdr        http.Header
	buf        *[]byte // pending output (header, small bodies); nil between requests
	head       bool    // HEAD: no body
	minor      int     // request's HTTP minor version
	status     int
	wrote      bool  // the header is formatted
	bodyOK     bool  // the status allows a body
	chunked    bool  // body of unknown length to a 1.1 client
	clen       int64 // declared Content-Length, or -1
	sent       int64 // body bytes accepted
	closeAfter bool
	err        error // a write to the connection failed
}

// start resets w for req; closeAfter forces "Connection: close".
func (w *response) start(req *http.Request, closeAfter bool) {
	clear(w.hdr)
	w.head = req.Method == http.MethodHead
	w.minor = req.ProtoMinor
	w.status, w.wrote, w.bodyOK, w.chunked = 0, false, false, false
	w.clen, w.sent, w.closeAfter, w.err = -1, 0, closeAfter, nil
}

// Header returns the response header map.
func (w *response) Header() http.Header { return w.hdr }

// ConnSerialer is implemented by the server's http.ResponseWriter: the serial number of the
// request's connection, counting the server's accepted connections from 1 (nginx's
// $connection).
type ConnSerialer interface {
	ConnSerial() uint64
}

var _ ConnSerialer = (*response)(nil)

// ConnSerial implements ConnSerialer.
func (w *response) ConnSerial() uint64 { return w.c.serial }

// WriteHeader formats the status line and header into the output buffer; it is sent with the
// first body bytes, or when the handler returns.
func (w *response) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code < 100 || code > 999 {
		panic("fastsrv: invalid WriteHeader code " + strconv.Itoa(code))
	}
	w.wrote, w.status = true, code
	w.bodyOK = code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
	if v := w.hdr["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.clen = n
		}
	}
	if w.c.srv.shutdown.Load() {
		w.closeAfter = true
	}
	if w.bodyOK && w.clen < 0 && !w.head {
		if w.minor >= 1 {
			w.chunked = true
		} else {
			w.closeAfter = true
		}
	}
	b := w.buffer()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(code)...)
	b = append(b, "\r\n"...)
	if _, ok := w.hdr["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, w.c.httpDate()...)
		b = append(b, "\r\n"...)
	}
	for k, vv := range w.hdr {
		if k == "Connection" || k == "Transfer-Encoding" || (k == "Content-Length" && !w.bodyOK && code != http.StatusNotModified) {
			continue
		}
		for _, v := range vv {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	switch {
	case w.chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case w.closeAfter:
		b = append(b, "Connection: close\r\n"...)
	case w.minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	*w.buf = append(b, "\r\n"...)
}

// appendValue appends a header value with CR and LF made spaces (no header injection).
func appendValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// buffer returns the pending output, taking a buffer from the pool.
func (w *response) buffer() []byte {
	if w.buf == nil {
		w.buf = w.c.srv.wbufs.Get().(*[]byte)
		*w.buf = (*w.buf)[:0]
	}
	return *w.buf
}

// Write sends body bytes (buffered while they fit).
func (w *response) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.head || !w.bodyOK {
		return len(p), nil
	}
	if w.clen >= 0 && w.sent+int64(len(p)) > w.clen {
		return 0, http.ErrContentLength
	}
	w.sent += int64(len(p))
	b := w.buffer()
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		b = strconv.AppendInt(b, int64(len(p)), 16)
		b = append(b, "\r\n"...)
		*w.buf = b
		if err := w.put(p); err != nil {
			return 0, err
		}
		*w.buf = append(*w.buf, "\r\n"...)
		return len(p), nil
	}
	if err := w.put(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// put appends p to the output, writing out the buffer first when p does not fit.
func (w *response) put(p []byte) error {
	b := *w.buf
	if len(b)+len(p) <= cap(b) {
		*w.buf = append(b, p...)
		return nil
	}
	if err := w.flushBuf(); err != nil {
		return err
	}
	if len(p) >= cap(b)/2 {
		err := w.c.write(p)
		return w.setErr(err)
	}
	*w.buf = append(*w.buf, p...)
	return nil
}

// Flush writes the pending output, unless it holds only the header (see the package doc).
func (w *response) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.sent > 0 && w.flushBuf() == nil {
		w.release() // a paced body may wait long before its next bytes: hold no buffer
	}
}

// ReadFrom sends the body from src: a file body (io.CopyN's *io.LimitedReader around an
// *os.File, or an *io.SectionReader) up to CopyBelow bytes is read into the output buffer
// behind the header and leaves in one write; a larger *os.File body goes out with sendfile(2)
// through the connection.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.head || !w.bodyOK {
		return 0, nil
	}
	if w.c.tls != nil && !w.chunked {
		if n, done, err := w.copyTLS(src); done {
			return n, err
		}
	}
	if sr, ok := src.(*io.SectionReader); ok && !w.chunked {
		if n, done, err := w.copySection(sr); done {
			return n, err
		}
	}
	if lr, f, ok := isFileBody(src); ok && !w.chunked && (w.clen < 0 || w.sent+lr.N <= w.clen) {
		b := w.buffer()
		if lr.N <= w.c.srv.cfg.CopyBelow && int64(cap(b)-len(b)) >= lr.N {
			n, err := io.ReadFull(f, b[len(b):len(b)+int(lr.N)])
			*w.buf = b[:len(b)+n]
			lr.N -= int64(n)
			w.sent += int64(n)
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				err = nil
			}
			w.c.srv.bodies.copied.Add(1)
			return int64(n), err
		}
		if w.c.rc != nil {
			if err := w.flushMore(); err != nil {
				return 0, err
			}
			w.c.srv.bodies.sendfile.Add(1)
			w.release() // a slow client may take long: the buffer goes back meanwhile
			n, err := w.c.sendfile(f, lr)
			w.sent += n
			return n, w.setErr(err)
		}
		if rf, ok := w.c.nc.(io.ReaderFrom); ok {
			if err := w.flushMore(); err != nil {
				return 0, err
			}
			w.c.srv.bodies.sendfile.Add(1)
			w.release() // a slow client may take long: the buffer goes back meanwhile
			var n int64
			var err error
			w.c.wdeadline(false)
			for {
				var m int64
				m, err = rf.ReadFrom(lr)
				n += m
				w.c.sock += m
				w.c.wprogress = w.c.wprogress || m > 0
				if err == nil || lr.N == 0 || !w.c.sendStalled(err) {
					break
				}
			}
			w.sent += n
			return n, w.setErr(err)
		}
	}
	return io.Copy(writerOnly{w}, src)
}

// copySection reads what is left of sr (an *os.File section shared between requests, read
// with pread(2)) into the output buffer behind the header when it is at most CopyBelow bytes
// and fits; done is false when it did nothing.
func (w *response) copySection(sr *io.SectionReader) (int64, bool, error) {
	pos, _ := sr.Seek(0, io.SeekCurrent)
	left := sr.Size() - pos
	b := w.buffer()
	if left > w.c.srv.cfg.CopyBelow || int64(cap(b)-len(b)) < left || (w.clen >= 0 && w.sent+left > w.clen) {
		return 0, false, nil
	}
	n, err := io.ReadFull(sr, b[len(b):len(b)+int(left)])
	*w.buf = b[:len(b)+n]
	w.sent += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = nil
	}
	w.c.srv.bodies.copied.Add(1)
	return int64(n), true, err
}

// writerOnly hides ReadFrom so io.Copy uses Write.
type writerOnly struct{ io.Writer }

// flushBuf writes the pending output to the connection.
func (w *response) flushBuf() error {
	if w.err != nil {
		return w.err
	}
	if w.buf == nil || len(*w.buf) == 0 {
		return nil
	}
	err := w.c.write(*w.buf)
	*w.buf = (*w.buf)[:0]
	return w.setErr(err)
}

// flushMore writes the pending output flagged MSG_MORE: a sendfile body follows at once.
func (w *response) flushMore() error {
	if w.err != nil {
		return w.err
	}
	if w.buf == nil || len(*w.buf) == 0 {
		return nil
	}
	err := w.c.send(*w.buf, syscall.MSG_MORE)
	*w.buf = (*w.buf)[:0]
	return w.setErr(err)
}

func (w *response) setErr(err error) error {
	if err != nil && w.err == nil {
		w.err = err
		w.closeAfter = true
	}
	return err
}

// finish completes the response after the handler returned; false means the connection
// cannot carry another request.
func (w *response) finish() bool {
	if !w.wrote {
		if _, ok := w.hdr["Content-Length"]; !ok {
			w.hdr["Content-Length"] = zeroLength
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked && w.err == nil {
		*w.buf = append(w.buffer(), "0\r\n\r\n"...)
	}
	w.flushBuf()
	w.release()
	if w.bodyOK && !w.head && w.clen >= 0 && w.sent < w.clen {
		return false // short body: the client cannot find the next response
	}
	return w.err == nil
}

var zeroLength = []string{"0"}

func (w *response) release() {
	if w.buf != nil {
		w.c.srv.wbufs.Put(w.buf)
		w.buf = nil
	}
}

// fail answers a request the server itself rejects.
func (w *response) fail(status int, msg string) {
	w.hdr["Content-Type"] = textPlain
	w.hdr["Content-Length"] = []string{strconv.Itoa(len(msg) + 1)}
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

var textPlain = []string{"text/plain; charset=utf-8"}

// httpDate returns the Date header value, formatted at most once a second per connection.
func (c *conn) httpDate() []byte {
	now := time.Now()
	if sec := now.Unix(); sec != c.dateSec {
		c.dateSec = sec
		now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
	}
	return c.date[:]
}
