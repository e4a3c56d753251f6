package conf

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// captureLog returns a logger that writes text records to the returned buffer.
func captureLog() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// writeFiles writes name → content into a fresh temp dir and returns the dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const fixtures = "../../testdata/fastdfs-conf"

// slogBuf is a logger with its output buffer.
type slogBuf struct {
	log *slog.Logger
	buf *bytes.Buffer
}

func newSlogBuf() *slogBuf {
	l, b := captureLog()
	return &slogBuf{l, b}
}

func (s *slogBuf) empty(t *testing.T) {
	t.Helper()
	if s.buf.Len() != 0 {
		t.Errorf("unexpected log output:\n%s", s.buf)
	}
}
