package httpd

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/accounting"
	"github.com/depotfs/depot/internal/token"
)

// maxDownloadAllocs bounds the heap objects a 4 KiB keep-alive download with a token costs the
// whole process (server, handler, store; the raw client allocates nothing): with the file
// cache, the formatted header values (the file stays open: no path for open(2), no *os.File).
// Raise it only with a reason.
const maxDownloadAllocs = 3

// TestDownloadAllocs fails when a repeated 4 KiB download (and a small trunk slice, served
// from the trunk cache) over a keep-alive connection to the storage node's server allocates
// more than maxDownloadAllocs objects.
func TestDownloadAllocs(t *testing.T) {
	if raceEnabled || *netHTTP {
		t.Skip("the race detector allocates on its own; net/http is not the storage node's server")
	}
	for _, tc := range []struct {
		id   string
		size int
	}{{idBin, 4096}, {idTr1, 1000}} {
		t.Run(tc.id, func(t *testing.T) { testDownloadAllocs(t, tc.id, tc.size, true, nil, false) })
		// With the check off and a secret set, the query is still looked at for a signed URL.
		t.Run(tc.id+"/check_off", func(t *testing.T) { testDownloadAllocs(t, tc.id, tc.size, false, nil, false) })
		// The access log in its default format costs a download nothing either.
		t.Run(tc.id+"/access_log", func(t *testing.T) { testDownloadAllocs(t, tc.id, tc.size, true, io.Discard, false) })
		// Nor does download accounting: the record is pooled, its acknowledgement watch a value
		// in the connection's list, the accountant's queue a slice.
		t.Run(tc.id+"/accounting", func(t *testing.T) { testDownloadAllocs(t, tc.id, tc.size, true, nil, true) })
	}
}

func testDownloadAllocs(t *testing.T, id string, size int, check bool, accessLog io.Writer, acct bool) {
	cfg, _ := fixtureConfig(t)
	cfg.Token = TokenConfig{Check: check, Secret: "FastDFS1234567890", TTL: time.Hour}
	cfg.AccessLog = accessLog
	if acct {
		a, err := accounting.New(accounting.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		cfg.Accounting = a
	}
	srv, _ := startServer(t, cfg)
	remote := id[len("group1/"):]
	ts := fixtureNow().Unix()
	req := []byte("GET /" + id + "?token=" + token.Sign(cfg.Token.Secret, remote, ts) + "&ts=" +
		strconv.FormatInt(ts, 10) + " HTTP/1.1\r\nHost: depot\r\nUser-Agent: allocs\r\n\r\n")
	c, err := net.Dial("tcp", srv.URL[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	// The first response tells the length of every response (same header lengths, same file).
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	n, total := 0, -1
	for total < 0 || n < total {
		m, err := c.Read(buf[n:])
		if err != nil {
			t.Fatalf("read: %v (%q)", err, buf[:n])
		}
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n\r\n")); i >= 0 && total < 0 {
			if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 ")) {
				t.Fatalf("response %q", buf[:n])
			}
			total = i + 4 + size
		}
	}
	allocs := testing.AllocsPerRun(500, func() {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:total]); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per %d-byte download", allocs, size)
	if allocs > maxDownloadAllocs {
		t.Errorf("a %d-byte download allocates %.1f objects, want <= %d", size, allocs, maxDownloadAllocs)
	}
}
