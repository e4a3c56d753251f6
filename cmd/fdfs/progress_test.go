package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf, "upload", 100<<20); p.w != nil {
		t.Fatal("progress enabled on a non-terminal writer")
	}
	p := &progress{w: &buf, label: "download", total: 16 << 20}
	var sink bytes.Buffer
	if _, err := io.Copy(p.writer(&sink), strings.NewReader(strings.Repeat("x", 16<<20))); err != nil {
		t.Fatal(err)
	}
	p.done()
	if sink.Len() != 16<<20 {
		t.Errorf("progress writer passed on %d bytes", sink.Len())
	}
	if out := buf.String(); !strings.Contains(out, "100% 16/16 MiB") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q lacks the final 100%% line", out)
	}
}
