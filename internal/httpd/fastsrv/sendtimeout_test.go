package fastsrv

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// bigFileHandler serves a sparse file of size bytes with io.CopyN (so with sendfile) and
// reports on done when each response's handler returns.
func bigFileHandler(t *testing.T, size int64, done chan<- error) http.Handler {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		w.Header()["Content-Length"] = []string{itoa(size)}
		_, err = io.CopyN(w, f, size)
		done <- err
	})
}

func dialSmall(t *testing.T, addr, path string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := c.(*net.TCPConn)
	if _, err := io.WriteString(tc, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return tc
}

// TestSendTimeout: a client that reads the start of a large download and then stops reading
// has its connection closed after about SendTimeout, the handler returns, and it is counted.
func TestSendTimeout(t *testing.T) {
	done := make(chan error, 1)
	s, addr := start(t, Config{Handler: bigFileHandler(t, 256<<20, done), SendTimeout: 300 * time.Millisecond})
	c := dialSmall(t, addr, "/big")
	if _, err := io.ReadFull(c, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the handler sent 256 MiB to a client that stopped reading")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a connection whose client stopped reading was held 20 s with a 300 ms send timeout")
	}
	if n := s.SendTimeouts(); n != 1 {
		t.Errorf("SendTimeouts = %d, want 1", n)
	}
	// The server closed the connection: the client reads what was queued, then EOF or reset.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("connection still open after the send timeout")
		}
	}
}

// TestSendTimeoutSlowReader: a client that keeps reading, slowly but never pausing as long as
// SendTimeout, gets the whole file.
func TestSendTimeoutSlowReader(t *testing.T) {
	const size = 64 << 20
	done := make(chan error, 1)
	s, addr := start(t, Config{Handler: bigFileHandler(t, size, done), SendTimeout: 400 * time.Millisecond})
	c := dialSmall(t, addr, "/big")
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	var got int64
	buf := make([]byte, 1<<20)
	for {
		n, err := io.ReadFull(c, buf)
		got += int64(n)
		if err != nil || got >= size {
			break
		}
		time.Sleep(20 * time.Millisecond) // a slow reader: 1 MiB per ~20 ms, pauses < SendTimeout
	}
	if err := <-done; err != nil {
		t.Fatalf("handler of a slow but steady reader: %v (read %d bytes)", err, got)
	}
	if got < size {
		t.Errorf("read %d of at least %d bytes", got, size)
	}
	if n := s.SendTimeouts(); n != 0 {
		t.Errorf("SendTimeouts = %d, want 0", n)
	}
}
