package httpd

import (
	"maps"
	"os"
	"strings"
	"testing"
)

func TestParseMimeTypes(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		err      bool
	}{
		{"apache", "# comment\nimage/jpeg\tjpeg jpg jpe\napplication/x-nothing\ntext/plain txt # trailing\n",
			map[string]string{"jpeg": "image/jpeg", "jpg": "image/jpeg", "jpe": "image/jpeg", "txt": "text/plain"}, false},
		{"nginx", "types {\n    text/html  html htm;\n    image/png png;\n}\n",
			map[string]string{"html": "text/html", "htm": "text/html", "png": "image/png"}, false},
		{"first wins", "a/b x\nc/d x\n", map[string]string{"x": "a/b"}, false},
		{"not a type", "jpeg jpg\n", nil, true},
		{"empty", "", map[string]string{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMimeTypes(strings.NewReader(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBuiltinMIMEIsNginx: the built-in map equals nginx's mime.types where that file exists.
func TestBuiltinMIMEIsNginx(t *testing.T) {
	f, err := os.Open("/etc/nginx/mime.types")
	if err != nil {
		t.Skipf("no nginx mime.types here: %v", err)
	}
	defer f.Close()
	m, err := ParseMimeTypes(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := builtinMIME(); !maps.Equal(m, b) {
		for k, v := range m {
			if b[k] != v {
				t.Errorf("%s: nginx %q, built-in %q", k, v, b[k])
			}
		}
		t.Errorf("nginx has %d extensions, built-in %d", len(m), len(b))
	}
}
