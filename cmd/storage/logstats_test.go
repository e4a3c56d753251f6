package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/meta"
)

// TestLogstats imports an nginx-written combined log of a past day through the command: that
// day's counters appear, and importing it again changes nothing.
func TestLogstats(t *testing.T) {
	dir := t.TempDir()
	confPath := filepath.Join(dir, "storage.conf")
	os.WriteFile(confPath, []byte(fmt.Sprintf("group_name = group1\nbase_path = %[1]s\nstore_path0 = %[1]s\n", dir)), 0o644)
	var log strings.Builder
	for i := range 24 {
		fmt.Fprintf(&log, "10.0.0.%d - - [11/Mar/2021:%02d:00:00 +0000] \"GET /group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin HTTP/1.1\" 200 4096 \"-\" \"curl\"\n", i, i)
		fmt.Fprintf(&log, "10.0.0.%d - - [11/Mar/2021:%02d:00:01 +0000] \"GET /event.png?category=h5&action=pv HTTP/1.1\" 200 67 \"-\" \"curl\"\n", i, i)
	}
	logPath := filepath.Join(dir, "access.2021-03-11.log")
	os.WriteFile(logPath, []byte(log.String()), 0o644)

	query := func() []meta.StatsRow {
		t.Helper()
		st, err := meta.OpenStats(filepath.Join(dir, "data", "stats.db"), meta.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		rows, err := st.Query("2021-03-10", "2021-03-12", "")
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-c", confPath, "logstats", logPath}, &out, &errb); err != nil {
		t.Fatalf("logstats: %v (%s)", err, errb.String())
	}
	if !strings.Contains(out.String(), "48 lines, 48 counted") {
		t.Errorf("output %q", out.String())
	}
	first := fmt.Sprint(query())
	for _, want := range []string{"{2021-03-11 download map[bytes:98304 completed:24 requests:24]}", "{2021-03-11 h5.pv map[pv:24]}"} {
		if !strings.Contains(first, want) {
			t.Errorf("rows %s lack %s", first, want)
		}
	}
	out.Reset()
	if err := run(context.Background(), []string{"-c", confPath, "logstats", logPath}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skipped") || fmt.Sprint(query()) != first {
		t.Errorf("second import changed the counts or did not say so: %q", out.String())
	}

	// While something holds the statistics file (a running node), the command says so.
	st, err := meta.OpenStats(filepath.Join(dir, "data", "stats.db"), meta.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	err = run(context.Background(), []string{"-c", confPath, "logstats", logPath}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "running storage node") || time.Since(start) > 10*time.Second {
		t.Errorf("with the file held: %v", err)
	}
}
