package storagesvc_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
)

// FuzzNativeStorage sends arbitrary bytes to a storage's FastDFS port: every request gets an
// answer or a close, within the timeout, and the server keeps serving.
func FuzzNativeStorage(f *testing.F) {
	name := "M00/00/00/fwAAAWsWDVCAWENVAAAAF4mwYVk161.txt"
	g := fdfstest.Pad("group1", 16)
	f.Add(fdfstest.Frame(11, 0, []byte{0xFF}, fdfstest.I64(3), fdfstest.Pad("txt", 6), []byte("abc")))
	f.Add(fdfstest.Frame(21, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(1), fdfstest.Pad("_s", 16), fdfstest.Pad("", 6), []byte(name), []byte("z")))
	f.Add(fdfstest.Frame(24, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(1), []byte(name), []byte("z")))
	f.Add(fdfstest.Frame(34, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(0), fdfstest.I64(1), []byte(name), []byte("z")))
	f.Add(fdfstest.Frame(36, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(0), []byte(name)))
	f.Add(fdfstest.Frame(38, 0, []byte(name)))
	f.Add(fdfstest.Frame(12, 0, g, []byte(name)))
	f.Add(fdfstest.Frame(14, 0, fdfstest.I64(0), fdfstest.I64(0), g, []byte(name)))
	f.Add(fdfstest.Frame(13, 0, fdfstest.I64(int64(len(name))), fdfstest.I64(3), []byte("M"), g, []byte(name), []byte("a\x02b")))
	f.Add(fdfstest.Frame(15, 0, g, []byte(name)))
	f.Add(fdfstest.Frame(22, 1, g, []byte(name)))
	f.Add(fdfstest.Frame(11, 0, []byte{0xFF}, fdfstest.I64(1<<40), fdfstest.Pad("txt", 6)))
	e := startNative(f, fdfsproto.Options{NetworkTimeout: 300 * time.Millisecond})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no answer or close within 5 s for % x", data)
			}
		}
	})
}
