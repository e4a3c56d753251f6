package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevRunsACluster runs "storage -dev" (with free ports written into its config files
// first, which -dev keeps) and uploads through its embedded tracker.
func TestDevRunsACluster(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "depot-data")
	tp, sp, hp := freePort(t), freePort(t), freePort(t)
	p, err := writeDevConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("port = 23000", fmt.Sprint("port = ", sp), "http.server_port = 8888", fmt.Sprint("http.server_port = ", hp),
		"127.0.0.1:22122", fmt.Sprint("127.0.0.1:", tp)).Replace(string(b)) + "subdir_count_per_path = 2\n"
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	tc := strings.Replace(devTrackerConf, "port = 22122", fmt.Sprint("port = ", tp), 1)
	if err := os.WriteFile(filepath.Join(dir, "conf", "tracker.conf"), []byte(tc), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-dev", "-data", dir}, &stdout, &stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("storage -dev: %v", err)
		}
	}()
	trackerAddr := fmt.Sprint("127.0.0.1:", tp)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "monitor") {
		if time.Now().After(deadline) {
			t.Fatalf("no help printed; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := stdout.String(); !strings.Contains(out, "tracker "+trackerAddr) || !strings.Contains(out, filepath.Join(dir, "conf", "client.conf")) {
		t.Errorf("help:\n%s", out)
	}
	c, err := client.New(client.Config{Trackers: []string{trackerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var id string
	for {
		// The node joins the tracker right after it starts: poll until it takes uploads.
		id, err = c.Upload(ctx, strings.NewReader("dev cluster"), client.UploadOptions{Ext: "txt"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("upload through the embedded tracker: %v", err)
	}
	var buf bytes.Buffer
	if _, err := c.Download(ctx, id, &buf, 0, 0); err != nil || buf.String() != "dev cluster" {
		t.Errorf("download = %q, %v", buf.String(), err)
	}
}
