package conf

import (
	_ "embed"
	"os"
	"strings"
)

// builtinMimeTypes is Depot's mime table, the same text as the shipped conf/mime.types.
//
//go:embed mime.types
var builtinMimeTypes string

// BuiltinMimeTypes returns a fresh copy of Depot's built-in extension → type table, used
// when no http.mime_types_filename is configured.
func BuiltinMimeTypes() map[string]string { return ParseMimeTypes([]byte(builtinMimeTypes)) }

// LoadMimeTypes reads a file in Apache mime.types format.
func LoadMimeTypes(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	return ParseMimeTypes(data), nil
}

// ParseMimeTypes parses Apache mime.types text: one `type ext ext...` per line, fields
// separated by spaces or tabs, '#' starting a comment line. Extensions are case-sensitive,
// as FastDFS looks them up; when an extension repeats, the later line wins. Lines with a
// type but no extension are skipped. A trailing ';' (nginx style) is tolerated.
func ParseMimeTypes(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) < 2 {
			continue
		}
		typ := f[0]
		for _, ext := range f[1:] {
			ext = strings.TrimSuffix(ext, ";")
			if ext != "" {
				m[ext] = typ
			}
		}
	}
	return m
}
