package membership

import (
	"bytes"
	"context"
	"log/slog"
)

// levelWriter turns memberlist's "[LEVEL] memberlist: text" lines into
// slog records at the matching level.
type levelWriter struct {
	log *slog.Logger
}

var levels = []struct {
	tag   []byte
	level slog.Level
}{
	{[]byte("[ERR]"), slog.LevelError},
	{[]byte("[ERROR]"), slog.LevelError},
	{[]byte("[WARN]"), slog.LevelWarn},
	{[]byte("[INFO]"), slog.LevelInfo},
	{[]byte("[DEBUG]"), slog.LevelDebug},
}

// lineLevel finds the level tag in a log line and returns the text after it.
func lineLevel(p []byte) (slog.Level, []byte) {
	for _, l := range levels {
		if i := bytes.Index(p, l.tag); i >= 0 {
			return l.level, bytes.TrimSpace(p[i+len(l.tag):])
		}
	}
	return slog.LevelDebug, bytes.TrimSpace(p)
}

func (w levelWriter) Write(p []byte) (int, error) {
	level, msg := lineLevel(p)
	if w.log.Enabled(context.Background(), level) {
		w.log.Log(context.Background(), level, string(msg))
	}
	return len(p), nil
}
