package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// idleResult is the idle keep-alive row: RSS with n connections open, each after one request.
type idleResult struct {
	n                       int
	depotBefore, depotAfter int64 // KiB
	ngxBefore, ngxAfter     int64
}

// idleRSS opens n keep-alive connections to each server, sends one request on each and reads
// the response, then reads the servers' RSS while all n stay open and idle.
func idleRSS(ctx context.Context, n int, depot, ngx *server, ngxPath, depotPath string) (idleResult, error) {
	res := idleResult{n: n, depotBefore: depot.rss(), ngxBefore: ngx.rss()}
	var err error
	if res.depotAfter, err = holdIdle(ctx, n, depot, depotPath); err != nil {
		return res, err
	}
	if res.ngxAfter, err = holdIdle(ctx, n, ngx, ngxPath); err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "bench: %d idle connections: depot %d -> %d KiB, nginx %d -> %d KiB\n",
		n, res.depotBefore, res.depotAfter, res.ngxBefore, res.ngxAfter)
	return res, nil
}

// holdIdle opens n connections to s, makes one request on each, and returns s's RSS with all
// of them open; it closes them before returning.
func holdIdle(ctx context.Context, n int, s *server, path string) (int64, error) {
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	req := "GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n"
	var d net.Dialer
	for i := range n {
		c, err := d.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			return 0, fmt.Errorf("%s: connection %d: %w", s.name, i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, req); err != nil {
			return 0, fmt.Errorf("%s: connection %d: %w", s.name, i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 8<<10), nil)
		if err != nil {
			return 0, fmt.Errorf("%s: connection %d: %w", s.name, i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.EqualFold(resp.Header.Get("Connection"), "close") {
			return 0, fmt.Errorf("%s: connection %d: status %d, Connection %q", s.name, i, resp.StatusCode, resp.Header.Get("Connection"))
		}
	}
	return s.rss(), nil
}
