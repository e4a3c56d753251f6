package fastsrv

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer for a logger on the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAbortHandler: a handler that panics with http.ErrAbortHandler leaves a chunked body
// without its last chunk (the client sees it cut) and no log line; another panic is logged.
func TestAbortHandler(t *testing.T) {
	var logs lockedBuffer
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one,")
		w.(http.Flusher).Flush()
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("handler bug")
	})
	_, addr := start(t, Config{Handler: h, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	out := exchange(t, addr, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.Contains(out, "9\r\npart one,\r\n") || strings.Contains(out, "0\r\n\r\n") {
		t.Fatalf("aborted response:\n%q", out)
	}
	if s := logs.String(); s != "" {
		t.Fatalf("an abort was logged: %s", s)
	}
	exchange(t, addr, "GET /bug HTTP/1.1\r\nHost: a\r\n\r\n")
	if s := logs.String(); !strings.Contains(s, "handler bug") {
		t.Fatalf("a handler panic was not logged: %q", s)
	}
}
