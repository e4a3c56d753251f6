package storagesvc_test

import (
	"bufio"
	"bytes"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/fdfsproto"
	"github.com/depotfs/depot/internal/fdfsproto/fdfstest"
)

// patternReader yields n bytes of a pattern that repeats every 65,537 bytes (a prime, so
// it does not line up with any buffer size).
type patternReader struct {
	off, n int64
	block  []byte
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.block == nil {
		p.block = make([]byte, 65537)
		for i := range p.block {
			p.block[i] = byte(i ^ i>>8 ^ i*31)
		}
	}
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	k := 0
	for k < len(b) {
		k += copy(b[k:], p.block[(p.off+int64(k))%int64(len(p.block)):])
	}
	p.off += int64(len(b))
	return len(b), nil
}

// peakRSS reads VmHWM (KiB) of this process; resetPeakRSS starts a new peak.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	t.Skip("no VmHWM")
	return 0
}

func resetPeakRSS(t *testing.T) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS: %v", err)
	}
}

// An upload and a download far larger than any buffer go through in bounded memory: the
// peak RSS of the process (client and server) grows by much less than the file. 64 MiB by
// default; DEPOT_FDFS_BIG_MIB sets the size (2048 for the 2 GiB run).
func TestNativeBigFileBoundedMemory(t *testing.T) {
	size := int64(64 << 20)
	if v := os.Getenv("DEPOT_FDFS_BIG_MIB"); v != "" {
		mib, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("DEPOT_FDFS_BIG_MIB=%q: %v", v, err)
		}
		size = mib << 20
	}
	e := startNative(t, fdfsproto.Options{NetworkTimeout: 30 * time.Second})
	c := fdfstest.Dial(t, e.addr)
	resetPeakRSS(t)
	base := peakRSS(t)
	start := time.Now()

	head := fdfstest.Frame(11, 0, []byte{0xFF}, fdfstest.I64(size), fdfstest.Pad("bin", 6))
	copy(head, fdfstest.I64(15+size))
	c.Send(head)
	want := crc32.NewIEEE()
	c.Conn.SetWriteDeadline(time.Time{})
	if _, err := io.CopyBuffer(c.Conn, io.TeeReader(&patternReader{n: size}, want), make([]byte, 256<<10)); err != nil {
		t.Fatalf("sending %d bytes: %v", size, err)
	}
	r := c.Recv()
	if r.Status != 0 {
		t.Fatalf("upload: status %d", r.Status)
	}
	up := time.Since(start)
	name := r.Body[16:]

	start = time.Now()
	c.Send(fdfstest.Frame(14, 0, fdfstest.I64(0), fdfstest.I64(0), fdfstest.Pad("group1", 16), name))
	h := c.RecvHeader()
	if h.Status != 0 || h.Len != size {
		t.Fatalf("download: status %d, %d bytes", h.Status, h.Len)
	}
	got := crc32.NewIEEE()
	c.Conn.SetReadDeadline(time.Now().Add(10 * time.Minute))
	if _, err := io.CopyBuffer(got, io.LimitReader(c.Conn, size), make([]byte, 256<<10)); err != nil {
		t.Fatalf("receiving: %v", err)
	}
	down := time.Since(start)
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("downloaded bytes differ from the uploaded ones")
	}
	grew := peakRSS(t) - base
	t.Logf("%d MiB: upload %v, download %v, peak RSS grew %d KiB", size>>20, up.Round(time.Millisecond), down.Round(time.Millisecond), grew)
	if limit := min(size>>10/2, 48<<10); grew > limit {
		t.Fatalf("peak RSS grew %d KiB moving %d MiB (limit %d KiB)", grew, size>>20, limit)
	}
}
