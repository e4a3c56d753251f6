package fastsrv

import (
	"io"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxSendfile bounds one sendfile(2) call, so that a large body does not hold the socket's
// write lock for long (Go's own loop uses the same bound).
const maxSendfile = 4 << 20

// sendfile sends lr's n bytes from its file's current offset over the raw socket with
// sendfile(2), waiting for the socket as needed, and returns the bytes sent.
//
// Why not net.TCPConn.ReadFrom: the kernel splices a file into a socket through a pipe of 16
// pages and flags every batch but the last MSG_MORE, so a batch smaller than TCP's size goal
// is held back for the data that follows. When the send buffer fills right after such a batch
// (TCP_NOTSENT_LOWAT makes that the rule: see Config.NotSentLowat) the held bytes count as
// unsent, the socket never becomes writable, and the response stalls until a TCP timer
// sends them 200 ms later. It happens when the body starts off a page boundary (a trunk
// file slot) and the size goal is large (loopback's 64 KiB segments, TSO). Go's loop waits
// inside; this one pushes the held bytes (TCP_NODELAY, which sends what is pending) before
// it waits.
func (c *conn) sendfile(f *os.File, lr *io.LimitedReader) (int64, error) {
	if c.sendfileFn == nil {
		c.sendfileFn = c.sendfileRaw
	}
	c.sfIn, c.sfLeft, c.sfSent, c.werr = int(f.Fd()), lr.N, 0, nil
	c.wdeadline(false)
	var err error
	for {
		err = c.rc.Write(c.sendfileFn)
		if err != nil && c.sfLeft > 0 && c.sendStalled(err) {
			continue
		}
		break
	}
	if err == nil {
		err = c.werr
	}
	runtime.KeepAlive(f) // its descriptor was in use until here
	lr.N -= c.sfSent
	return c.sfSent, err
}

// sendfileRaw is c.sendfileFn, called by RawConn.Write with the socket: it sends what it can
// of the file and returns false to wait until the socket is writable again.
func (c *conn) sendfileRaw(fd uintptr) bool {
	for c.sfLeft > 0 {
		// Not a raw system call: reading the file may wait for the disk.
		n, err := unix.Sendfile(int(fd), c.sfIn, nil, int(min(c.sfLeft, maxSendfile)))
		switch {
		case err == nil && n == 0:
			c.werr = io.ErrUnexpectedEOF // the file is shorter than the response says
			return true
		case err == nil || (err == syscall.EAGAIN && n > 0):
			c.sfLeft -= int64(n)
			c.sfSent += int64(n)
			c.sock += int64(n)
			c.wprogress = true
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			pushPending(fd)
			return false
		default:
			c.werr = err
			return true
		}
	}
	return true
}

// pushPending makes TCP send the segments it holds back for more data (setting TCP_NODELAY
// does that, also when it is set already, as Go sets it on every TCP connection).
func pushPending(fd uintptr) {
	one := int32(1)
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, uintptr(unsafe.Pointer(&one)), 4, 0)
}
