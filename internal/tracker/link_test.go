package tracker_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/conf"
	"github.com/depotfs/depot/internal/storage"
)

// startGroupStorage starts a storage of group with paths store paths, reporting to
// trackerAddr every 100 ms.
func startGroupStorage(t *testing.T, trackerAddr, group string, paths int) *storage.Server {
	t.Helper()
	sc := conf.DefaultStorage()
	sc.GroupName, sc.BindAddr, sc.Port, sc.HTTP.ServerPort = group, "127.0.0.1", 0, 0
	sc.BasePath, sc.SubdirCountPerPath = t.TempDir(), 2
	for range paths {
		sc.StorePaths = append(sc.StorePaths, conf.StorePath{Path: t.TempDir()})
	}
	sc.TrackerServers, sc.HeartBeatInterval = []string{trackerAddr}, 100*time.Millisecond
	sc.ReservedStorageSpace = conf.Reserved{Bytes: 1 << 20}
	node, err := storage.New(storage.Config{Storage: sc})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		node.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node
}

// link forwards TCP connections from its own loopback port to another address until Cut.
type link struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
	wg    sync.WaitGroup
}

func newLink(t *testing.T, to string) *link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &link{ln: ln, to: to}
	l.wg.Go(l.accept)
	t.Cleanup(l.Cut)
	return l
}

func (l *link) Addr() string { return l.ln.Addr().String() }

func (l *link) accept() {
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.to)
		if err != nil {
			in.Close()
			continue
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		l.conns = append(l.conns, in, out)
		l.mu.Unlock()
		l.wg.Go(func() { io.Copy(out, in); out.Close() })
		l.wg.Go(func() { io.Copy(in, out); in.Close() })
	}
}

// Cut closes the listener and every forwarded connection: the far side is unreachable
// through the link from now on.
func (l *link) Cut() {
	l.ln.Close()
	l.mu.Lock()
	l.cut = true
	for _, c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}
