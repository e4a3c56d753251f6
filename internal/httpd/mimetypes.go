package httpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrMimeTypes is wrapped by ParseMimeTypes errors.
var ErrMimeTypes = errors.New("httpd: bad mime.types")

// ParseMimeTypes reads a mime.types file as http.mime_types_filename names it: Apache's format
// ("type ext1 ext2 …" per line, '#' comments), and nginx's "types { type ext …; }" is accepted
// too. It returns extension → type for Config.MimeTypes; the first mapping of an extension wins.
func ParseMimeTypes(r io.Reader) (map[string]string, error) {
	m := make(map[string]string)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(strings.ReplaceAll(line, ";", " "))
		if line == "" || line == "}" || strings.HasPrefix(line, "types") && strings.HasSuffix(line, "{") {
			continue
		}
		f := strings.Fields(line)
		typ := f[0]
		slash := strings.IndexByte(typ, '/')
		if slash <= 0 || slash == len(typ)-1 || strings.ContainsAny(typ, "\"\\{},") {
			return nil, fmt.Errorf("%w: line %d: %q is not a media type", ErrMimeTypes, n, typ)
		}
		for _, ext := range f[1:] {
			ext = strings.TrimPrefix(ext, ".")
			if _, dup := m[ext]; !dup && ext != "" {
				m[ext] = typ
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMimeTypes, err)
	}
	return m, nil
}
