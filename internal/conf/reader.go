package conf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxIncludeDepth bounds #include nesting; cycles are caught before the bound.
const maxIncludeDepth = 16

// entry is one `key = value` line after #include expansion.
type entry struct {
	Section string // "" for the global section
	Key     string
	Value   string
	File    string
	Line    int
}

// doc is a parsed configuration file with its includes expanded, in file order.
type doc struct {
	path    string // path of the top file, absolute
	entries []entry
}

// readDoc reads path and every file it includes.
func readDoc(path string) (*doc, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	d := &doc{path: abs}
	if err := d.readFile(abs, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// parseDoc parses data as if read from path; includes are resolved against path's directory.
func parseDoc(path string, data []byte) (*doc, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	d := &doc{path: abs}
	if err := d.parse(abs, data, []string{abs}); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *doc) readFile(path string, stack []string) error {
	data, err := readConfFile(path)
	if err != nil {
		return &Error{File: path, Err: err}
	}
	return d.parse(path, data, append(stack, path))
}

// parse scans one file in the FastDFS dialect: whole-line '#' comments, no inline comments,
// `#include file`, `[section]`, `[]` back to global, lines without '=' ignored.
func (d *doc) parse(path string, data []byte, stack []string) error {
	section := ""
	for i, raw := range bytes.Split(data, []byte("\n")) {
		lineNo := i + 1
		line := strings.TrimSpace(string(raw))
		if line == "" {
			continue
		}
		if target, ok := includeTarget(line); ok {
			if err := d.include(path, lineNo, target, stack); err != nil {
				return err
			}
			section = "" // FastDFS: after an include the section is the global one again
			continue
		}
		if line[0] == '#' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		d.entries = append(d.entries, entry{
			Section: section, Key: k, Value: strings.TrimSpace(v), File: path, Line: lineNo,
		})
	}
	return nil
}

// includeTarget recognises `#include file` (any case, then a space or tab).
func includeTarget(line string) (string, bool) {
	const kw = "#include"
	if len(line) < len(kw) || !strings.EqualFold(line[:len(kw)], kw) {
		return "", false
	}
	if len(line) == len(kw) {
		return "", true // an include without a file name: an error
	}
	if c := line[len(kw)]; c != ' ' && c != '\t' {
		return "", false
	}
	return strings.TrimSpace(line[len(kw):]), true
}

func (d *doc) include(from string, line int, target string, stack []string) error {
	fail := func(err error) error { return &Error{File: from, Line: line, Err: err} }
	if target == "" {
		return fail(fmt.Errorf("no file name: %w", ErrInclude))
	}
	if isRemote(target) {
		return fail(fmt.Errorf("#include %s: %w", target, ErrRemoteInclude))
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(from), target)
	}
	target = filepath.Clean(target)
	for _, p := range stack {
		if p == target {
			return fail(fmt.Errorf("%s: %w", target, ErrIncludeCycle))
		}
	}
	if len(stack) >= maxIncludeDepth {
		return fail(fmt.Errorf("%s: nested deeper than %d: %w", target, maxIncludeDepth, ErrInclude))
	}
	data, err := readConfFile(target)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrInclude, err))
	}
	return d.parse(target, data, append(stack[:len(stack):len(stack)], target))
}

// maxConfFile bounds the size of one configuration file.
const maxConfFile = 16 << 20

// readConfFile reads a regular file of at most maxConfFile bytes, so that a stray
// `#include /dev/zero` fails instead of eating memory.
func readConfFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file: %w", path, ErrInvalidValue)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfFile {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", path, maxConfFile, ErrInvalidValue)
	}
	return data, nil
}

func isRemote(name string) bool {
	l := strings.ToLower(name)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// last returns the last occurrence of key in section: for single-valued keys the last one wins.
func (d *doc) last(section, key string) (entry, bool) {
	for i := len(d.entries) - 1; i >= 0; i-- {
		if e := d.entries[i]; e.Section == section && e.Key == key {
			return e, true
		}
	}
	return entry{}, false
}

// lastAnywhere is last in the global section, else in any section.
func (d *doc) lastAnywhere(key string) (entry, bool) {
	if e, ok := d.last("", key); ok {
		return e, true
	}
	for i := len(d.entries) - 1; i >= 0; i-- {
		if e := d.entries[i]; e.Key == key {
			return e, true
		}
	}
	return entry{}, false
}

// all returns every occurrence of key in section, in file order.
func (d *doc) all(section, key string) []entry {
	var out []entry
	for _, e := range d.entries {
		if e.Section == section && e.Key == key {
			out = append(out, e)
		}
	}
	return out
}

// dir is the directory relative file names resolve against.
func (d *doc) dir() string { return filepath.Dir(d.path) }
