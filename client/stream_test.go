package client_test

import (
	"context"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"testing"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
)

// genReader yields n pseudo-random bytes without holding them: a 64 KiB block rotated by
// the position, with a running crc32 of what it produced. It calls probe every probeEvery
// bytes.
type genReader struct {
	block      []byte
	n, pos     int64
	crc        hash.Hash32
	probe      func()
	probeEvery int64
}

func newGenReader(n int64, probe func()) *genReader {
	return &genReader{block: randomBytes(64<<10, 7), n: n, crc: crc32.NewIEEE(), probe: probe, probeEvery: 8 << 20}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.pos >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.pos)]
	for i := 0; i < len(p); {
		off := int((g.pos + int64(i) + g.pos/int64(len(g.block))) % int64(len(g.block)))
		i += copy(p[i:], g.block[off:])
	}
	g.crc.Write(p)
	before := g.pos
	g.pos += int64(len(p))
	if g.probe != nil && before/g.probeEvery != g.pos/g.probeEvery {
		g.probe()
	}
	return len(p), nil
}

// heapProbe records the largest HeapInuse seen above a baseline.
type heapProbe struct{ base, peak uint64 }

func newHeapProbe() *heapProbe {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapProbe{base: ms.HeapInuse}
}

func (h *heapProbe) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > h.base && ms.HeapInuse-h.base > h.peak {
		h.peak = ms.HeapInuse - h.base
	}
}

// crcWriter checksums what it is given and samples the heap as bytes arrive.
type crcWriter struct {
	crc   hash.Hash32
	n     int64
	probe func()
}

func (w *crcWriter) Write(p []byte) (int, error) {
	before := w.n
	w.crc.Write(p)
	w.n += int64(len(p))
	if before/(8<<20) != w.n/(8<<20) {
		w.probe()
	}
	return len(p), nil
}

// TestLargeStreamConstantMemory streams 300 MiB up and back down and checks that neither
// the client nor the service (same process) holds the data: the heap grows by < 64 MiB.
func TestLargeStreamConstantMemory(t *testing.T) {
	const size = 300 << 20
	const limit = 64 << 20
	srv := svctest.Start(t)
	c := dial(t, srv)
	hp := newHeapProbe()
	gen := newGenReader(size, hp.sample)
	id, err := c.Upload(t.Context(), gen, client.UploadOptions{Ext: "bin", Size: -1})
	if err != nil {
		t.Fatalf("Upload(300 MiB): %v", err)
	}
	w := &crcWriter{crc: crc32.NewIEEE(), probe: hp.sample}
	n, err := c.Download(t.Context(), id, w, 0, 0)
	if err != nil {
		t.Fatalf("Download(%s): %v", id, err)
	}
	if n != size || w.crc.Sum32() != gen.crc.Sum32() {
		t.Fatalf("Download: %d bytes crc %08x; want %d bytes crc %08x", n, w.crc.Sum32(), size, gen.crc.Sum32())
	}
	t.Logf("peak heap growth %d MiB over %d MiB streamed each way", hp.peak>>20, size>>20)
	if hp.peak >= limit {
		t.Errorf("heap grew by %d MiB during the transfer; want < %d MiB", hp.peak>>20, limit>>20)
	}
}

// TestAbortedUploadLeavesNothing: an upload whose reader fails or whose context is
// canceled half way leaves no file in the store once the server handler has returned.
func TestAbortedUploadLeavesNothing(t *testing.T) {
	errDisk := errors.New("source disk failed")
	tests := []struct {
		name    string
		size    int64
		failure func(cancel context.CancelFunc) error // called after 2 MiB; nil error keeps reading
		want    error
	}{
		{"reader fails", -1, func(context.CancelFunc) error { return errDisk }, errDisk},
		{"context canceled", -1, func(cancel context.CancelFunc) error { cancel(); return nil }, context.Canceled},
		{"context canceled, size announced", 8 << 20, func(cancel context.CancelFunc) error { cancel(); return nil }, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := svctest.Start(t)
			c := dial(t, srv)
			before := srv.Files(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &failingReader{r: newGenReader(64<<20, nil), after: 2 << 20, fail: func() error { return tt.failure(cancel) }}
			_, err := c.Upload(ctx, r, client.UploadOptions{Size: tt.size})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Upload = %v; want %v", err, tt.want)
			}
			srv.Stop() // returns once the server's handler has returned
			if after := srv.Files(t); !slices.Equal(before, after) {
				t.Errorf("store files changed by an aborted upload:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// failingReader reads from r and, after `after` bytes, calls fail once; a non-nil error
// is returned from then on. With a nil error it keeps yielding data (slowly enough for a
// canceled context to be seen).
type failingReader struct {
	r      io.Reader
	after  int64
	n      int64
	fail   func() error
	failed bool
	err    error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.n >= f.after && !f.failed {
		f.failed = true
		if f.err = f.fail(); f.err != nil {
			return 0, f.err
		}
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	return n, err
}
