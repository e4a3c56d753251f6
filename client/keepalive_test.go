package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
)

// blackhole is a TCP proxy that, once cut, keeps reading from both sides and forwards
// nothing, as a network that drops every packet does: no RST, no FIN.
type blackhole struct {
	addr string
	cut  atomic.Bool
}

func startBlackhole(t *testing.T, backend string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 && !b.cut.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", backend)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Go(func() { pipe(up, c) })
			wg.Go(func() { pipe(c, up) })
		}
	})
	return b
}

// TestDeadNetworkFailsCallsSoon: when the network to a storage drops everything (the
// storage cut off, no RST), a call fails with ErrUnavailable once the keepalive pings go
// unanswered, about 15 s, instead of waiting for the caller's deadline.
func TestDeadNetworkFailsCallsSoon(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the keepalive timeout")
	}
	// The server permits the SDK's pings, as Depot's storage does.
	s := svctest.StartWith(t, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}))
	hole := startBlackhole(t, s.Addr)
	c, err := client.New(client.Config{Storage: hole.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := bytes.Repeat([]byte("k"), 1000)
	id, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	hole.cut.Store(true)
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err = c.Download(ctx, id, io.Discard, 0, 0)
	took := time.Since(start)
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("Download through a dead network = %v after %v; want ErrUnavailable", err, took)
	}
	if took > 40*time.Second {
		t.Errorf("Download through a dead network failed after %v; want about 15 s", took)
	}
	t.Logf("failed after %v: %v", took.Round(100*time.Millisecond), err)
}
