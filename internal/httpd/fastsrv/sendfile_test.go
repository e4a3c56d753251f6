package fastsrv

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSendfileOffPageNoStall: a 1 MB body sent with sendfile from 4,376 bytes into its file
// (where a trunk file's slot puts it) over one kept-alive connection, 40 times. The kernel
// holds back the last batch it spliced (flagged MSG_MORE) when the send buffer fills, and
// with TCP_NOTSENT_LOWAT those bytes kept the socket from ever becoming writable: each
// response then waited 200 ms for a TCP timer (8 s in all here; it read 5 responses a second
// from a trunk slot). The server now pushes them before it waits. The bound is a stall
// detector, 40 times what the run takes, not a speed measurement.
func TestSendfileOffPageNoStall(t *testing.T) {
	const off, size, n = 4376, 1_000_000, 40
	data := make([]byte, off+size+1000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	name := filepath.Join(t.TempDir(), "trunk")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(name)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.Copy(w, &io.LimitedReader{R: f, N: size})
	})
	srv, addr := start(t, Config{Handler: h})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	want := data[off : off+size]
	t0 := time.Now()
	for i := range n {
		resp, err := client.Get("http://" + addr + "/slot")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("response %d: %d bytes, %v; want the %d bytes at offset %d", i, len(got), err, size, off)
		}
	}
	if took := time.Since(t0); took > 4*time.Second {
		t.Fatalf("%d responses of %d bytes took %s: responses stall", n, size, took)
	}
	if got := srv.Bodies().Sendfile; got != n {
		t.Fatalf("%d bodies sent with sendfile, want %d", got, n)
	}
}
