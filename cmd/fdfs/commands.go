package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/depotfs/depot/client"
)

type commandFunc func(ctx context.Context, e *env, args []string) error

// command returns the implementation of a command name, or nil.
func command(name string) commandFunc {
	switch name {
	case "upload":
		return cmdUpload
	case "download":
		return cmdDownload
	case "delete":
		return cmdDelete
	case "info":
		return cmdInfo
	case "meta":
		return cmdMeta
	case "sign":
		return cmdSign
	case "monitor":
		return cmdMonitor
	case "delete-storage":
		return cmdDeleteStorage
	case "stats":
		return cmdStats
	}
	return nil
}

// extOf returns a file name's extension without the dot when it fits a file ID (1..6
// characters of [A-Za-z0-9_.-]), else "".
func extOf(name string) string {
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	if len(ext) > 6 {
		return ""
	}
	for _, r := range ext {
		ok := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return ""
		}
	}
	return ext
}

func cmdUpload(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("upload", "[-ext E] FILE")
	ext := fs.String("ext", "", "extension of the file ID (default: FILE's extension)")
	if err := parseSub(fs, args, 1, 1); err != nil {
		return err
	}
	name := fs.Arg(0)
	opts := client.UploadOptions{Ext: *ext}
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Mode().IsRegular() {
			opts.Size = st.Size()
		}
		if *ext == "" {
			opts.Ext = extOf(name)
		}
		r = f
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	p := newProgress(e.stderr, "upload", opts.Size)
	id, err := c.Upload(ctx, p.reader(r), opts)
	p.done()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, id)
	return err
}

func cmdDownload(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("download", "ID [OUT]")
	if err := parseSub(fs, args, 1, 2); err != nil {
		return err
	}
	id := fs.Arg(0)
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	var size int64
	if isTerminal(e.stderr) {
		if fi, err := c.Info(ctx, id); err == nil {
			size = fi.Size
		}
	}
	p := newProgress(e.stderr, "download", size)
	defer p.done()
	if fs.NArg() == 1 {
		_, err = c.Download(ctx, id, p.writer(e.stdout), 0, 0)
		return err
	}
	return downloadTo(ctx, c, id, fs.Arg(1), p)
}

// downloadTo writes the file to a temp file beside out and renames it over out on success,
// so a failed download leaves out as it was.
func downloadTo(ctx context.Context, c *client.Client, id, out string, p *progress) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := c.Download(ctx, id, p.writer(tmp), 0, 0); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func cmdDelete(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("delete", "ID")
	if err := parseSub(fs, args, 1, 1); err != nil {
		return err
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Delete(ctx, fs.Arg(0))
}

func cmdMeta(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("meta", "[-overwrite] ID [k=v ...]")
	overwrite := fs.Bool("overwrite", false, "replace the whole metadata with the pairs instead of merging")
	if err := parseSub(fs, args, 1, -1); err != nil {
		return err
	}
	id, pairs := fs.Arg(0), fs.Args()[1:]
	m := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("meta: %q is not k=v", kv)
		}
		m[k] = v
	}
	if *overwrite && len(pairs) == 0 {
		return usagef("meta: -overwrite needs k=v pairs")
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	if len(pairs) > 0 {
		return c.SetMetadata(ctx, id, m, !*overwrite)
	}
	got, err := c.Metadata(ctx, id)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(e.stdout, "%s=%s\n", k, got[k]); err != nil {
			return err
		}
	}
	return nil
}
