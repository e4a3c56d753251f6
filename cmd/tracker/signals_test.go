package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestStopSignals: SIGTERM lets a call in flight hold the stop for up to stop_timeout (30 s
// here); a second SIGTERM closes its connection and the tracker stops at once.
func TestStopSignals(t *testing.T) {
	dir := t.TempDir()
	confPath := writeConf(t, dir)
	f, err := os.OpenFile(confPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("stop_timeout = 30\nlog_level = info\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	logs := new(syncBuffer)
	ready, done := make(chan listening, 1), make(chan error, 1)
	go func() { done <- serve(context.Background(), confPath, logs, func(l listening) { ready <- l }) }()
	var l listening
	select {
	case l = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v\n%s", err, logs)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped { // a failed check: end serve the way an operator would
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			syscall.Kill(os.Getpid(), syscall.SIGTERM)
			<-done
		}
	})

	// A call in flight: its stream is open and its request never completes.
	conn, err := grpc.NewClient(l.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/depot.tracker.v1.TrackerService/GetParameters")
	if err != nil {
		t.Fatal(err)
	}
	_ = stream
	time.Sleep(200 * time.Millisecond) // the server has the stream's headers

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		t.Fatalf("serve returned %v within 1 s of the first SIGTERM with a call in flight; want it to wait (stop_timeout 30 s)\n%s", err, logs)
	case <-time.After(time.Second):
	}
	if !strings.Contains(logs.String(), "a second SIGTERM or SIGINT stops at once") {
		t.Fatalf("no stopping line after SIGTERM:\n%s", logs)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Fatalf("serve after the second SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15 s after the second SIGTERM (stop_timeout 30 s)\n%s", logs)
	}
	if !strings.Contains(logs.String(), "second signal") {
		t.Errorf("no second-signal line:\n%s", logs)
	}
}
