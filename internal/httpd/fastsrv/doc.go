// Package fastsrv is a small HTTP/1.1 server for the storage node's download port. It runs
// any http.Handler (Depot's httpd.Handler in practice) but does per request only what a file
// download needs, so that a 4 KiB download costs about what it costs nginx.
//
// # Design
//
// One goroutine per connection, as net/http. What differs:
//
//   - The request line and headers are parsed from a per-connection buffer into one
//     *http.Request, one url.URL and one http.Header owned by the connection and reused for
//     every request on it. Header values and the request-target are kept from the previous
//     request and reused when the bytes are equal, so a keep-alive client repeating a request
//     allocates nothing for parsing. The handler must not keep the request after it returns
//     (net/http's contract too).
//   - The read and write buffers come from pools and go back while the connection waits for
//     its next request (the wait is a raw, non-blocking read through syscall.RawConn that
//     returns the buffer before parking), so 10,000 idle keep-alive connections hold only
//     their goroutine and a few hundred bytes each.
//   - The response header is formatted into the write buffer. A body read from an *os.File
//     through an *io.LimitedReader (what io.CopyN(w, f, n) hands to ReadFrom) is read into the
//     same buffer when it is at most Config.CopyBelow bytes, and header and body leave in one
//     send(2); a larger body follows the header with sendfile(2) (fastsrv's own loop on the
//     raw socket, sendfile.go, which pushes the segments the kernel holds back before it waits
//     on a full socket), so big files are never copied through user space. The header is then sent with MSG_MORE,
//     so that it leaves in the body's first segment instead of a packet of its own. Measured on
//     loopback: a 4 KiB download costs the server 13.7 µs of CPU in one send against 18.1 µs
//     with sendfile; a 1 MiB one runs at about 1.6 times the requests per second with MSG_MORE.
//   - Socket reads and writes are raw system calls through syscall.RawConn: the socket is
//     non-blocking, so they cannot block, and the scheduler's bookkeeping around a system call
//     is saved; EAGAIN parks the goroutine on the network poller as usual.
//   - Acknowledgement watches (AckWatcher, ack.go) are values in a per-connection list. A client
//     that sends its next request after reading a response has acknowledged that response by
//     then (the ACK travels no later than the request), so the connection's goroutine resolves
//     its watches itself, every ackBatch responses, with one ioctl(SIOCOUTQ) for all of them;
//     what is left, and connections that went quiet, one sweeper goroutine polls through
//     TCP_INFO, once per socket every Config.AckPoll. No allocation, clock reading or shared
//     lock per response.
//   - Flush with only the header pending does not write: the header goes out with the first
//     body bytes or when the handler returns, which lets a handler Flush before a sendfile body
//     without costing a packet.
//
// # Protocol
//
// HTTP/1.1 and 1.0 (keep-alive only when asked for), pipelining (responses in order), HEAD,
// "Connection: close", a response body of unknown length chunked for 1.1 clients and
// delimited by closing for 1.0 ones. A handler that panics with http.ErrAbortHandler ends
// the connection where the response stands (a chunked body gets no last chunk, so the
// client sees it cut), with no log line, as net/http does. A request carrying a body (Content-Length > 0 or
// Transfer-Encoding) is answered and the connection closed: the download port takes none.
// Limits: Config.MaxHeaderBytes for the request line plus headers (431, or 414 when the
// request line alone is too long), a read timeout from the first byte of a request to the end
// of its headers, an idle timeout between requests. No HTTP/2, no Upgrade.
//
// # TLS
//
// With Config.TLS the port speaks HTTPS: the handshake runs on the connection's goroutine
// within ReadHeaderTimeout, and a client that sends a plain HTTP request instead gets a plain
// 400 naming the mistake. Reads and writes then go through crypto/tls (blocking calls, not the
// raw system calls), and a file body cannot use sendfile(2): it is read into the pooled
// output buffer, behind the header for its first piece, and written from there, a record at
// a time, each under SendTimeout (a timed-out tls.Conn is broken, so the deadline is not moved
// on after partial progress as on plain sockets). Request.TLS carries the connection state.
// AckWatcher still reads TCP_INFO of the socket under TLS: offsets count bytes on the wire
// (records, with their overhead of about 22 bytes per 16 KiB), and Offset writes out what is
// buffered so that it is exact. The plain-HTTP path is untouched by all of this.
package fastsrv
