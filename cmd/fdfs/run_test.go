package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/internal/storagesvc/svctest"
	"github.com/depotfs/depot/internal/token"
)

type result struct {
	stdout, stderr string
	err            error
}

func (r result) code() int { return exitCode(r.err) }

func fdfs(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return result{out.String(), errOut.String(), err}
}

// mustRun runs fdfs and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := fdfs(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("fdfs %v: %v (stderr %q)", args, r.err, r.stderr)
	}
	return r.stdout
}

// idLine is one file ID and a newline: 27 base64 characters and a 7-character formatted
// extension after the directories.
var idLine = regexp.MustCompile(`^group1/M00/[0-9A-F]{2}/[0-9A-F]{2}/[A-Za-z0-9_-]{27}[A-Za-z0-9_.-]{7}\n$`)

func TestCommands(t *testing.T) {
	srv := svctest.Start(t)
	s := []string{"-storage", srv.Addr}
	dir := t.TempDir()
	src := filepath.Join(dir, "photo.jpg")
	content := strings.Repeat("jpeg bytes ", 1000)
	if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "", append(s, "upload", src)...)
	if !idLine.MatchString(out) || !strings.HasSuffix(out, ".jpg\n") {
		t.Fatalf("upload printed %q; want exactly a .jpg file id and a newline", out)
	}
	id := strings.TrimSpace(out)

	t.Run("upload stdin", func(t *testing.T) {
		out := mustRun(t, "from stdin", append(s, "upload", "-ext", "txt", "-")...)
		if !idLine.MatchString(out) {
			t.Fatalf("upload - printed %q", out)
		}
		if got := mustRun(t, "", append(s, "download", strings.TrimSpace(out))...); got != "from stdin" {
			t.Errorf("download of stdin upload = %q", got)
		}
	})
	t.Run("download to stdout", func(t *testing.T) {
		if got := mustRun(t, "", append(s, "download", id)...); got != content {
			t.Errorf("download wrote %d bytes, want %d", len(got), len(content))
		}
	})
	t.Run("download to file overwrites", func(t *testing.T) {
		dst := filepath.Join(dir, "out.jpg")
		if err := os.WriteFile(dst, []byte(strings.Repeat("old", 100000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := mustRun(t, "", append(s, "download", id, dst)...); out != "" {
			t.Errorf("download to a file printed %q on stdout", out)
		}
		if got, err := os.ReadFile(dst); err != nil || string(got) != content {
			t.Errorf("%s holds %d bytes (%v); want the %d uploaded", dst, len(got), err, len(content))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("download left extra files in %s: %v", dir, entries)
		}
	})
	t.Run("meta", func(t *testing.T) {
		mustRun(t, "", append(s, "meta", id, "width=160", "height=80")...)
		mustRun(t, "", append(s, "meta", id, "width=320")...)
		if got := mustRun(t, "", append(s, "meta", id)...); got != "height=80\nwidth=320\n" {
			t.Errorf("meta after merge printed %q", got)
		}
		mustRun(t, "", append(s, "meta", "-overwrite", id, "a=b=c")...)
		if got := mustRun(t, "", append(s, "meta", id)...); got != "a=b=c\n" {
			t.Errorf("meta after -overwrite printed %q", got)
		}
	})
	t.Run("info", func(t *testing.T) {
		got := mustRun(t, "", append(s, "info", id)...)
		for _, want := range []string{"file type: normal\n", "source ip address: 127.0.0.1\n", "file size: 11000\n", "storage file size: 11000\n", "file crc32: "} {
			if !strings.Contains(got, want) {
				t.Errorf("info output lacks %q:\n%s", want, got)
			}
		}
	})
	t.Run("info offline", func(t *testing.T) {
		r := fdfs(t, "", "info", id)
		if r.err != nil || !strings.Contains(r.stdout, "file size: 11000") || strings.Contains(r.stdout, "storage file size") {
			t.Errorf("offline info: %v\n%s", r.err, r.stdout)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if out := mustRun(t, "", append(s, "delete", id)...); out != "" {
			t.Errorf("delete printed %q", out)
		}
		r := fdfs(t, "", append(s, "download", id)...)
		if r.code() != 1 || r.stdout != "" || !strings.Contains(r.err.Error(), "not found") {
			t.Errorf("download after delete: exit %d, stdout %q, err %v; want exit 1, not found", r.code(), r.stdout, r.err)
		}
		if r := fdfs(t, "", append(s, "delete", id)...); r.code() != 1 {
			t.Errorf("second delete: exit %d (%v); want 1", r.code(), r.err)
		}
	})
}

func TestSign(t *testing.T) {
	const id = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	const want = "/" + id + "?token=96133aba6d55f5add73f99b7f7036220&ts=1795426279\n"
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	writeFile(t, filepath.Join(dir, "http.conf"), "http.anti_steal.check_token = true\nhttp.anti_steal.secret_key = FastDFS1234567890\n")
	writeFile(t, conf, "connect_timeout = 5\ntracker_server = 10.0.0.1:22122\n#include http.conf\n")
	tests := []struct {
		name string
		args []string
	}{
		{"flag secret", []string{"-secret", "FastDFS1234567890", "sign", "-ts", "1795426279", id}},
		{"config secret via include", []string{"-c", conf, "sign", "-ts", "1795426279", id}},
		{"leading slash", []string{"-secret", "FastDFS1234567890", "sign", "-ts", "1795426279", "/" + id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustRun(t, "", tt.args...); got != want {
				t.Errorf("sign printed %q; want %q", got, want)
			}
		})
	}
	out := mustRun(t, "", "-secret", "s", "sign", id)
	if !regexp.MustCompile(`^/` + regexp.QuoteMeta(id) + `\?token=[0-9a-f]{32}&ts=[1-9][0-9]+\n$`).MatchString(out) {
		t.Errorf("sign with ts=now printed %q", out)
	}
}

// TestSignURL checks sign's Depot signed URLs: the vector of docs/signed-urls.md, the default
// lifetime, and a URL signed at the current time that the storage's verifier accepts.
func TestSignURL(t *testing.T) {
	const id = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	s := []string{"-secret", "FastDFS1234567890", "sign"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"vector", []string{"-ts", "1795426630", "-expires", "3370", "-user", "alice", "-rate", "1048576", "-filename", "report 2026.pdf", id},
			"expires=1795430000&user=alice&rate=1048576&filename=report+2026.pdf&sig=GMOTautl8cqFbVQ7CLlTM9Zkrylevf8Q_aj_ByREMnE"},
		{"default lifetime", []string{"-ts", "1795426400", "-user", "", id},
			"expires=1795430000&sig=wfz2hw1Vnl2vqgfHXdMAWjpvCEODkidHfQoneWWUFkE"},
		{"leading slash", []string{"-ts", "1795426400", "-expires", "3600", "/" + id},
			"expires=1795430000&sig=wfz2hw1Vnl2vqgfHXdMAWjpvCEODkidHfQoneWWUFkE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := mustRun(t, "", append(s, tt.args...)...), "/"+id+"?"+tt.want+"\n"; got != want {
				t.Errorf("sign printed %q; want %q", got, want)
			}
		})
	}

	before := time.Now().Unix()
	out := strings.TrimSuffix(mustRun(t, "", append(s, "-user", "bob", "-rate", "4096", "-expires", "60", id)...), "\n")
	u, err := url.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := token.VerifyQuery("FastDFS1234567890", u.Path, u.RawQuery, time.Now())
	if err != nil {
		t.Fatalf("sign printed %q: %v", out, err)
	}
	if c.User != "bob" || c.Rate != 4096 || c.Filename != "" || c.Expires < before+60 || c.Expires > time.Now().Unix()+60 {
		t.Errorf("sign printed %q: claims %+v", out, c)
	}

	for _, bad := range [][]string{
		{"-expires", "0", id},
		{"-expires", "-5", id},
		{"-expires", "9223372036854775807", id},
		{"-rate", "-1", id},
		{"-user", "a\nb", id},
		{"-filename", strings.Repeat("x", 257), id},
	} {
		if r := fdfs(t, "", append(s, bad...)...); r.code() != 2 || r.stdout != "" {
			t.Errorf("sign %q: exit %d stdout %q (%v); want exit 2 and nothing printed", bad, r.code(), r.stdout, r.err)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestStorageFromConfig(t *testing.T) {
	srv := svctest.Start(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "client.conf")
	writeFile(t, conf, "tracker_server = 10.0.0.1:22122\nstorage_server = "+srv.Addr+"\n")
	out := mustRun(t, "hello", "-c", conf, "upload", "-")
	if !idLine.MatchString(out) {
		t.Fatalf("upload via storage_server printed %q", out)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	trackerOnly := filepath.Join(dir, "client.conf")
	writeFile(t, trackerOnly, "connect_timeout = 2\ntracker_server = "+deadAddr(t)+"\n")
	tests := []struct {
		name    string
		args    []string
		code    int
		errText string
	}{
		{"help", []string{"-h"}, 0, ""},
		{"no command", nil, 2, "no command"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"-bogus", "upload", "x"}, 2, "bogus"},
		{"no storage", []string{"delete", "group1/M00/00/00/x"}, 2, "-storage"},
		{"tracker down", []string{"-c", trackerOnly, "delete", "group1/M00/00/00/x"}, 1, "no tracker"},
		{"missing config", []string{"-c", filepath.Join(dir, "nope.conf"), "delete", "x"}, 2, "nope.conf"},
		{"upload without file", []string{"-storage", "127.0.0.1:1", "upload"}, 2, "wrong number"},
		{"download too many", []string{"-storage", "127.0.0.1:1", "download", "a", "b", "c"}, 2, "wrong number"},
		{"meta bad pair", []string{"-storage", "127.0.0.1:1", "meta", "id", "novalue"}, 2, "k=v"},
		{"sign without secret", []string{"sign", "group1/M00/00/00/x"}, 2, "secret"},
		{"info bad id", []string{"info", "group1/M00/zz"}, 1, "invalid file id"},
		{"upload missing file", []string{"-storage", "127.0.0.1:1", "upload", filepath.Join(dir, "absent")}, 1, "absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fdfs(t, "", tt.args...)
			if r.code() != tt.code {
				t.Fatalf("exit %d (%v); want %d", r.code(), r.err, tt.code)
			}
			if tt.code == 0 {
				if !errors.Is(r.err, flag.ErrHelp) && r.err != nil {
					t.Errorf("err %v", r.err)
				}
				if !strings.Contains(r.stderr, "usage: fdfs") {
					t.Errorf("-h printed no usage: %q", r.stderr)
				}
				return
			}
			if !strings.Contains(r.err.Error(), tt.errText) {
				t.Errorf("error %q does not mention %q", r.err, tt.errText)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q; want nothing on failure", r.stdout)
			}
		})
	}
}

func TestUnreachableStorage(t *testing.T) {
	ln := svctest.Start(t)
	addr := ln.Addr
	ln.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"-storage", addr, "delete", "group1/M00/00/00/x"}, strings.NewReader(""), &out, &errOut)
	if exitCode(err) != 1 {
		t.Errorf("unreachable storage: exit %d (%v); want 1", exitCode(err), err)
	}
}
