package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/fileid"
)

// buildStorage compiles this command into a temp dir and returns the binary's path.
func buildStorage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storage")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer // written by the process while tests read it
}

// startProc runs the storage binary with conf and waits until its gRPC port accepts.
func startProc(t *testing.T, bin, conf, grpcAddr string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "-c", conf), stderr: new(syncBuffer)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", grpcAddr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage did not listen on %s: %v\n%s", grpcAddr, err, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type acked struct {
	id   string
	body []byte
}

// TestSIGKILLDuringUploads kills the storage process with SIGKILL while uploads stream in,
// restarts it, and checks that every acknowledged ID reads back byte for byte and that no
// temp or partial file is visible in the store.
func TestSIGKILLDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the storage binary")
	}
	bin := buildStorage(t)
	dir := t.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, grpcPort, _ := net.SplitHostPort(grpcAddr)
	confPath := filepath.Join(dir, "storage.conf")
	conf := fmt.Sprintf("group_name = group1\nbind_addr = 127.0.0.1\nport = %s\nbase_path = %s\nstore_path0 = %s\n"+
		"subdir_count_per_path = 2\nfile_distribute_rotate_count = 3\nhttp.server_port = %d\nreserved_storage_space = 1%%\nlog_level = warn\n",
		grpcPort, dir, dir, freePort(t))
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	p := startProc(t, bin, confPath, grpcAddr)
	c, err := client.New(client.Config{Storage: grpcAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var (
		mu   sync.Mutex
		acks []acked
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				body := make([]byte, (w*7919+i*104729)%(3<<20))
				rand.Read(body)
				id, err := c.Upload(ctx, bytes.NewReader(body), client.UploadOptions{Ext: "dat", Size: int64(len(body))})
				if err != nil {
					return // the process died under us: unacknowledged, may or may not exist
				}
				mu.Lock()
				acks = append(acks, acked{id, body})
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 40 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d uploads acknowledged before the deadline\n%s", n, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	cancel()
	wg.Wait()
	c.Close()

	startProc(t, bin, confPath, grpcAddr)
	c2, err := client.New(client.Config{Storage: grpcAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for _, a := range acks {
		var got bytes.Buffer
		if _, err := c2.Download(t.Context(), a.id, &got, 0, 0); err != nil {
			t.Fatalf("acknowledged %s lost after SIGKILL: %v", a.id, err)
		}
		if !bytes.Equal(got.Bytes(), a.body) {
			t.Fatalf("acknowledged %s: %d bytes read back, %d uploaded", a.id, got.Len(), len(a.body))
		}
	}
	t.Logf("%d acknowledged uploads survived SIGKILL", len(acks))
	checkNoPartialFiles(t, filepath.Join(dir, "data"))
}

// checkNoPartialFiles walks data/XX/YY and requires every file to be a valid file ID whose
// size and crc32 match its name (or a metadata file), and the temp directory to be empty.
func checkNoPartialFiles(t *testing.T, data string) {
	t.Helper()
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if strings.Contains(rel, ".depot-tmp") {
			return fmt.Errorf("temp file %s visible after restart", rel)
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) != 3 || !isHexDir(parts[0]) || !isHexDir(parts[1]) {
			return nil // bookkeeping: storage_stat.dat, upload tokens, sync/binlog.*
		}
		if strings.HasSuffix(rel, "-m") {
			return nil
		}
		id, err := fileid.ParseRemote("group1", "M00/"+filepath.ToSlash(rel))
		if err != nil {
			return fmt.Errorf("file %s does not parse as a file ID: %w", rel, err)
		}
		size, _ := id.Size()
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if int64(len(body)) != size || crc32.ChecksumIEEE(body) != id.CRC32() {
			return fmt.Errorf("partial file %s: %d bytes crc %08x, name says %d bytes crc %08x", rel, len(body), crc32.ChecksumIEEE(body), size, id.CRC32())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func isHexDir(s string) bool {
	return len(s) == 2 && strings.Trim(s, "0123456789ABCDEF") == ""
}
