package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/storagesvc/svctest"
)

func dial(t *testing.T, srv *svctest.Server) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Storage: srv.Addr, Secret: "FastDFS1234567890"})
	if err != nil {
		t.Fatalf("client.New(%s): %v", srv.Addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func download(t *testing.T, c *client.Client, id string, off, length int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := c.Download(t.Context(), id, &buf, off, length)
	if err != nil {
		t.Fatalf("Download(%s, %d, %d): %v", id, off, length, err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Download(%s) returned %d, wrote %d bytes", id, n, buf.Len())
	}
	return buf.Bytes()
}

func upload(t *testing.T, c *client.Client, data []byte, o client.UploadOptions) string {
	t.Helper()
	id, err := c.Upload(t.Context(), bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("Upload(%d bytes, %+v): %v", len(data), o, err)
	}
	return id
}

func TestUploadDownload(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	tests := []struct {
		name string
		size int
		o    client.UploadOptions
	}{
		{"empty", 0, client.UploadOptions{}},
		{"one byte", 1, client.UploadOptions{Ext: "txt", Size: 1}},
		{"5 MiB announced", 5 << 20, client.UploadOptions{Ext: "bin", Size: 5 << 20}},
		{"5 MiB unknown size", 5 << 20, client.UploadOptions{Size: -1}},
		{"chunk boundary", 256 << 10, client.UploadOptions{Ext: "jpg"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(tt.size, uint64(i))
			id := upload(t, c, data, tt.o)
			if !strings.HasPrefix(id, svctest.Group+"/M00/") || !strings.HasSuffix(id, tt.o.Ext) {
				t.Errorf("file id %q: want group1/M00/... ending in %q", id, tt.o.Ext)
			}
			if got := download(t, c, id, 0, 0); !bytes.Equal(got, data) {
				t.Fatalf("Download(%s): got %d bytes, want the %d uploaded", id, len(got), len(data))
			}
			fi, err := c.Info(t.Context(), id)
			if err != nil {
				t.Fatalf("Info(%s): %v", id, err)
			}
			if fi.Size != int64(tt.size) || fi.Kind != client.KindNormal || fi.CRC32 != crc32.ChecksumIEEE(data) || fi.SourceIP != "127.0.0.1" {
				t.Errorf("Info(%s) = %+v; want size %d, normal, crc32 %08x, source 127.0.0.1", id, fi, tt.size, crc32.ChecksumIEEE(data))
			}
		})
	}
}

func TestDownloadRange(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	data := randomBytes(5<<20, 42)
	id := upload(t, c, data, client.UploadOptions{Ext: "bin"})
	size := int64(len(data))
	tests := []struct {
		name        string
		off, length int64
		want        []byte
	}{
		{"head", 0, 100, data[:100]},
		{"middle across chunks", 300_000, 1 << 20, data[300_000 : 300_000+1<<20]},
		{"tail to end", size - 10, 0, data[size-10:]},
		{"exact end", size - 1, 1, data[size-1:]},
		{"at end, to end", size, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := download(t, c, id, tt.off, tt.length); !bytes.Equal(got, tt.want) {
				t.Errorf("Download(%d, %d): got %d bytes, want %d", tt.off, tt.length, len(got), len(tt.want))
			}
		})
	}
	for _, r := range [][2]int64{{size + 1, 0}, {size - 1, 2}, {-1, 0}, {0, -5}} {
		_, err := c.Download(t.Context(), id, &bytes.Buffer{}, r[0], r[1])
		if !errors.Is(err, client.ErrOutOfRange) {
			t.Errorf("Download(offset %d, length %d) = %v; want ErrOutOfRange", r[0], r[1], err)
		}
	}
}

func TestMetadata(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	ctx := t.Context()
	id := upload(t, c, []byte("pixels"), client.UploadOptions{Ext: "jpg", Metadata: map[string]string{"width": "160", "height": "80"}})
	steps := []struct {
		name  string
		set   map[string]string
		merge bool
		want  map[string]string
	}{
		{"from upload", nil, false, map[string]string{"width": "160", "height": "80"}},
		{"merge", map[string]string{"width": "320", "author": "ann"}, true, map[string]string{"width": "320", "height": "80", "author": "ann"}},
		{"replace", map[string]string{"color": "red"}, false, map[string]string{"color": "red"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.set != nil {
				if err := c.SetMetadata(ctx, id, s.set, s.merge); err != nil {
					t.Fatalf("SetMetadata(%v, merge=%v): %v", s.set, s.merge, err)
				}
			}
			got, err := c.Metadata(ctx, id)
			if err != nil {
				t.Fatalf("Metadata: %v", err)
			}
			if !equalMaps(got, s.want) {
				t.Errorf("Metadata = %v; want %v", got, s.want)
			}
		})
	}
	plain := upload(t, c, []byte("x"), client.UploadOptions{})
	if got, err := c.Metadata(ctx, plain); err != nil || len(got) != 0 {
		t.Errorf("Metadata of a file without any = %v, %v; want empty, nil", got, err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAppender(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	ctx := t.Context()
	id := upload(t, c, []byte("hello"), client.UploadOptions{Ext: "log", Appender: true})
	steps := []struct {
		name string
		do   func() error
		want string
	}{
		{"uploaded", func() error { return nil }, "hello"},
		{"append", func() error { return c.Append(ctx, id, strings.NewReader(" world"), 6) }, "hello world"},
		{"append unknown size", func() error { return c.Append(ctx, id, strings.NewReader("!"), -1) }, "hello world!"},
		{"modify", func() error { return c.Modify(ctx, id, 0, strings.NewReader("HELLO"), 5) }, "HELLO world!"},
		{"modify past end", func() error { return c.Modify(ctx, id, 12, strings.NewReader("?"), 1) }, "HELLO world!?"},
		{"truncate", func() error { return c.Truncate(ctx, id, 5) }, "HELLO"},
		{"truncate to 0", func() error { return c.Truncate(ctx, id, 0) }, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := download(t, c, id, 0, 0); string(got) != s.want {
				t.Errorf("after %s: content %q, want %q", s.name, got, s.want)
			}
			fi, err := c.Info(ctx, id)
			if err != nil || fi.Size != int64(len(s.want)) || fi.Kind != client.KindAppender {
				t.Errorf("after %s: Info = %+v, %v; want appender of size %d", s.name, fi, err, len(s.want))
			}
		})
	}
	normal := upload(t, c, []byte("fixed"), client.UploadOptions{})
	if err := c.Append(ctx, normal, strings.NewReader("x"), 1); !errors.Is(err, client.ErrNotAllowed) {
		t.Errorf("Append to a normal file = %v; want ErrNotAllowed", err)
	}
}

func TestSlave(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	ctx := t.Context()
	master := upload(t, c, []byte("master"), client.UploadOptions{Ext: "jpg"})
	slave, err := c.UploadSlave(ctx, master, "_150x150", "", strings.NewReader("thumb"), client.UploadOptions{Size: 5})
	if err != nil {
		t.Fatalf("UploadSlave(%s): %v", master, err)
	}
	if want := strings.TrimSuffix(master, ".jpg") + "_150x150.jpg"; slave != want {
		t.Errorf("slave id = %q; want %q", slave, want)
	}
	if got := download(t, c, slave, 0, 0); string(got) != "thumb" {
		t.Errorf("slave content %q; want thumb", got)
	}
	if fi, err := c.Info(ctx, slave); err != nil || fi.Kind != client.KindSlave || fi.Size != 5 {
		t.Errorf("Info(slave) = %+v, %v; want slave of size 5", fi, err)
	}
	gone := upload(t, c, []byte("deleted master"), client.UploadOptions{Ext: "jpg"})
	if err := c.Delete(ctx, gone); err != nil {
		t.Fatalf("Delete(%s): %v", gone, err)
	}
	if _, err := c.UploadSlave(ctx, gone, "_x", "", strings.NewReader("y"), client.UploadOptions{}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("UploadSlave of deleted master = %v; want ErrNotFound", err)
	}
}

func TestDeleteAndErrors(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	ctx := t.Context()
	id := upload(t, c, []byte("gone soon"), client.UploadOptions{Ext: "txt"})
	if err := c.Delete(ctx, id); err != nil {
		t.Fatalf("Delete(%s): %v", id, err)
	}
	wrongGroup := "group2" + strings.TrimPrefix(id, svctest.Group)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"download deleted", func() error { _, err := c.Download(ctx, id, &bytes.Buffer{}, 0, 0); return err }, client.ErrNotFound},
		{"delete deleted", func() error { return c.Delete(ctx, id) }, client.ErrNotFound},
		{"info deleted", func() error { _, err := c.Info(ctx, id); return err }, client.ErrNotFound},
		{"metadata deleted", func() error { _, err := c.Metadata(ctx, id); return err }, client.ErrNotFound},
		{"malformed id", func() error { return c.Delete(ctx, "group1/not-an-id") }, client.ErrInvalid},
		{"wrong group", func() error { _, err := c.Info(ctx, wrongGroup); return err }, client.ErrInvalid},
		{"size shorter than announced", func() error {
			_, err := c.Upload(ctx, strings.NewReader("abc"), client.UploadOptions{Size: 10})
			return err
		}, client.ErrInvalid},
		{"size longer than announced", func() error {
			_, err := c.Upload(ctx, strings.NewReader("abcdef"), client.UploadOptions{Size: 2})
			return err
		}, client.ErrInvalid},
		{"refused early while streaming 5 MiB", func() error {
			_, err := c.Upload(ctx, bytes.NewReader(randomBytes(5<<20, 3)), client.UploadOptions{Ext: "toolongext"})
			return err
		}, client.ErrInvalid},
		{"extension too long", func() error {
			_, err := c.Upload(ctx, strings.NewReader("a"), client.UploadOptions{Ext: "toolongext"})
			return err
		}, client.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}
	if err := c.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), id) {
		t.Errorf("error %q does not name the file id %s", err, id)
	}
}

func TestNewConfig(t *testing.T) {
	// Tracker mode: New needs one tracker that accepts a connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	if _, err := client.New(client.Config{Trackers: []string{dead}, DialTimeout: 2 * time.Second}); !errors.Is(err, client.ErrNoTracker) {
		t.Errorf("New with only a dead tracker = %v; want ErrNoTracker", err)
	}
	if _, err := client.New(client.Config{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("New with no storage = %v; want ErrInvalid", err)
	}
}

func TestNewUnreachable(t *testing.T) {
	srv := svctest.Start(t)
	srv.Stop()
	if _, err := client.New(client.Config{Storage: srv.Addr}); !errors.Is(err, client.ErrUnavailable) || !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("New(stopped %s) = %v; want ErrUnavailable naming the address", srv.Addr, err)
	}
}

func TestClientSign(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv) // Secret FastDFS1234567890
	ts := time.Unix(vecTS, 0)
	if got := c.Sign(vecID, ts); got != vecToken {
		t.Errorf("Sign = %s; want %s", got, vecToken)
	}
	want := "https://cdn.example.com/" + vecID + "?token=" + vecToken + "&ts=1795426279"
	if got := c.SignedURL("https://cdn.example.com", vecID, ts); got != want {
		t.Errorf("SignedURL = %s; want %s", got, want)
	}
}

func TestConcurrentTransfers(t *testing.T) {
	srv := svctest.Start(t)
	c := dial(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			data := randomBytes(300_000+i*1000, uint64(100+i))
			id, err := c.Upload(t.Context(), bytes.NewReader(data), client.UploadOptions{Ext: "bin"})
			if err != nil {
				errs <- err
				return
			}
			var buf bytes.Buffer
			if _, err := c.Download(t.Context(), id, &buf, 0, 0); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(buf.Bytes(), data) {
				errs <- fmt.Errorf("%s: downloaded bytes differ from the %d uploaded", id, len(data))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
