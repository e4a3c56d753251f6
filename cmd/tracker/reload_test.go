package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/depotfs/depot/proto/trackerpb"
)

// syncBuffer is a bytes.Buffer that serve writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSIGHUP: SIGHUP applies a new allow_hosts and log_level at once, names a changed port as
// needing a restart, and refuses a bad allow_hosts line with its file:line.
func TestSIGHUP(t *testing.T) {
	dir := t.TempDir()
	confPath := writeConf(t, dir) // log_level = warn
	base, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	write := func(extra string) {
		t.Helper()
		if err := os.WriteFile(confPath, append(append([]byte{}, base...), extra...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("allow_hosts = 127.0.0.1\n")
	ctx, cancel := context.WithCancel(context.Background())
	logs := new(syncBuffer)
	ready, done := make(chan listening, 1), make(chan error, 1)
	go func() { done <- serve(ctx, confPath, logs, func(l listening) { ready <- l }) }()
	var l listening
	select {
	case l = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(l.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cli := trackerpb.NewTrackerServiceClient(conn)
	call := func() codes.Code {
		_, err := cli.GetParameters(t.Context(), &trackerpb.GetParametersRequest{})
		return status.Code(err)
	}
	if got := call(); got != codes.OK {
		t.Fatalf("before SIGHUP: %v", got)
	}
	sighup := func(want string) {
		t.Helper()
		n := strings.Count(logs.String(), want)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), want) == n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q after SIGHUP; logs:\n%s", want, logs)
			}
		}
	}

	// At log_level = warn the INFO line of the reload would not show: it shows at info. The
	// first port line gets a new port (the old value becomes a comment): needs a restart.
	text := strings.Replace(string(base)+"allow_hosts = 10.0.0.1\nlog_level = info\n", "port = ", fmt.Sprintf("port = %d\n#", freePort(t)), 1)
	if err := os.WriteFile(confPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sighup("configuration reloaded")
	if !strings.Contains(logs.String(), "applied=\"[allow_hosts log_level]\"") {
		t.Errorf("logs:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "needs a restart; the running value stays\" file="+confPath+" key=port") {
		t.Errorf("no restart line for port; logs:\n%s", logs)
	}
	if got := call(); got != codes.PermissionDenied {
		t.Fatalf("after SIGHUP to 10.0.0.1: %v, want PERMISSION_DENIED", got)
	}
	write("allow_hosts = 127.0.0.1\nallow_hosts = 10.0.0.[1-3\n")
	sighup("reload refused")
	if want := confPath + ":9"; !strings.Contains(logs.String(), want) {
		t.Errorf("the refusal does not name %s; logs:\n%s", want, logs)
	}
	if got := call(); got != codes.PermissionDenied {
		t.Errorf("after a refused reload: %v, want the list in force", got)
	}
}
