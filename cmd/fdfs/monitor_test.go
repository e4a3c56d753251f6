package main

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/testcluster"
)

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// states are FastDFS's storage state names: the monitor prints them only as states.
var states = regexp.MustCompile(`\b(INIT|WAIT_SYNC|SYNCING|IP_CHANGED|DELETED|OFFLINE|ONLINE|ACTIVE|RECOVERY)\b`)

func TestTrackerCommands(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 2, Groups: []string{"group1"}})
	// The first tracker in the list is down: the next one answers.
	tr := []string{"-tracker", deadAddr(t) + "," + strings.Join(c.TrackerAddrs(), ",")}

	out := mustRun(t, "", append(tr, "monitor")...)
	if !strings.Contains(out, "tracker "+c.TrackerAddrs()[0]+" answered") {
		t.Errorf("monitor does not say which tracker answered:\n%s", out)
	}
	for _, s := range c.Storages {
		if !regexp.MustCompile(regexp.QuoteMeta(s.Key()) + `\s+ACTIVE\s`).MatchString(out) {
			t.Errorf("monitor has no ACTIVE line for %s:\n%s", s.Key(), out)
		}
	}
	if n := len(states.FindAllString(out, -1)); n != len(c.Storages) {
		t.Errorf("state words appear %d times; want once per storage (%d):\n%s", n, len(c.Storages), out)
	}
	if !strings.Contains(out, "group group1: 2 storages") || !strings.Contains(out, "heartbeat") || !strings.Contains(out, "sync lag") {
		t.Errorf("monitor output:\n%s", out)
	}

	// Upload and download with client.conf's tracker_server lines.
	conf := filepath.Join(t.TempDir(), "client.conf")
	body := "connect_timeout = 5\n"
	for _, a := range c.TrackerAddrs() {
		body += "tracker_server = " + a + "\n"
	}
	writeFile(t, conf, body)
	id := strings.TrimSpace(mustRun(t, "via trackers", "-c", conf, "upload", "-ext", "txt", "-"))
	if !idLine.MatchString(id + "\n") {
		t.Fatalf("upload printed %q", id)
	}
	if got := mustRun(t, "", "-c", conf, "download", id); got != "via trackers" {
		t.Errorf("download = %q", got)
	}
	if out := mustRun(t, "", "-c", conf, "info", id); !strings.Contains(out, "size") {
		t.Errorf("info:\n%s", out)
	}
	mustRun(t, "", "-c", conf, "delete", id)

	// A stopped storage shows OFFLINE, and can then be deleted.
	down := c.Storages[1]
	down.Stop()
	c.Eventually("OFFLINE in the monitor", 10*time.Second, func() error {
		out := mustRun(t, "", append(tr, "monitor", "group1")...)
		if !regexp.MustCompile(regexp.QuoteMeta(down.Key()) + `\s+OFFLINE\s`).MatchString(out) {
			return fmt.Errorf("monitor:\n%s", out)
		}
		return nil
	})
	// Deleting is the leader's decision: the stopped storage left its trackers at once (Leave),
	// possibly before they elected one.
	c.Eventually("a leader", 30*time.Second, func() error {
		if l := c.Leaders(); len(l) != 1 {
			return fmt.Errorf("%d leaders", len(l))
		}
		return nil
	})
	out = mustRun(t, "", append(tr, "delete-storage", "group1", down.Key())...)
	if !strings.Contains(out, "deleted storage "+down.Key()) {
		t.Errorf("delete-storage printed %q", out)
	}
	out = mustRun(t, "", append(tr, "monitor")...)
	if regexp.MustCompile(regexp.QuoteMeta(down.Key()) + `\s+(ACTIVE|OFFLINE)\s`).MatchString(out) {
		t.Errorf("deleted storage still listed as live:\n%s", out)
	}
	if r := fdfs(t, "", append(tr, "delete-storage", "group1")...); r.code() != 2 {
		t.Errorf("delete-storage with one argument: exit %d", r.code())
	}
}

// delete-storage asked while the trackers are electing a leader is answered once one is
// elected: the two trackers are cut apart until neither knows a leader, then joined again,
// and the command comes at once, before the election can have ended.
func TestDeleteStorageDuringElection(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Trackers: 2, Groups: []string{"group1"}})
	c.Eventually("a leader", 30*time.Second, func() error {
		if l := c.Leaders(); len(l) != 1 {
			return fmt.Errorf("%d leaders", len(l))
		}
		return nil
	})
	down := c.Storages[1]
	down.Stop()
	c.Eventually("the stopped storage OFFLINE on both trackers", 10*time.Second, func() error {
		for _, tr := range c.Trackers {
			if st, err := c.Statuses(tr); err != nil || st[down.Key()] != "OFFLINE" {
				return fmt.Errorf("tracker %s: %v, %v", tr.Addr, st, err)
			}
		}
		return nil
	})
	c.Partition([]int{0}, []int{1})
	c.Eventually("no tracker to know a leader", 30*time.Second, func() error {
		for _, tr := range c.Trackers {
			if a, ok := tr.Server().Coordinator().LeaderAddr(); ok {
				return fmt.Errorf("tracker %s names %s", tr.Addr, a)
			}
		}
		return nil
	})
	c.Heal()
	start := time.Now()
	out := mustRun(t, "", "-tracker", strings.Join(c.TrackerAddrs(), ","), "delete-storage", "group1", down.Key())
	if !strings.Contains(out, "deleted storage "+down.Key()) {
		t.Errorf("delete-storage printed %q", out)
	}
	t.Logf("answered %v after the heal", time.Since(start).Round(time.Millisecond))
}
