package consensus

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// raftLogger bridges raft's hclog output into the injected slog logger at
// the matching levels.
func raftLogger(l *slog.Logger) hclog.Logger {
	ctx := context.Background()
	level := hclog.Off
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		level = hclog.Debug
	case l.Enabled(ctx, slog.LevelInfo):
		level = hclog.Info
	case l.Enabled(ctx, slog.LevelWarn):
		level = hclog.Warn
	case l.Enabled(ctx, slog.LevelError):
		level = hclog.Error
	}
	if level == hclog.Off {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "raft",
		Level:           level,
		Output:          levelWriter{l},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// levelWriter turns hclog's "[LEVEL] name: text" lines into slog records.
type levelWriter struct {
	log *slog.Logger
}

var levels = []struct {
	tag   []byte
	level slog.Level
}{
	{[]byte("[ERROR]"), slog.LevelError},
	{[]byte("[WARN]"), slog.LevelWarn},
	{[]byte("[INFO]"), slog.LevelInfo},
	{[]byte("[DEBUG]"), slog.LevelDebug},
	{[]byte("[TRACE]"), slog.LevelDebug - 4},
}

// lineLevel finds the level tag in a log line and returns the text after it.
func lineLevel(p []byte) (slog.Level, []byte) {
	for _, l := range levels {
		if i := bytes.Index(p, l.tag); i >= 0 {
			return l.level, bytes.TrimSpace(p[i+len(l.tag):])
		}
	}
	return slog.LevelInfo, bytes.TrimSpace(p)
}

func (w levelWriter) Write(p []byte) (int, error) {
	level, msg := lineLevel(p)
	w.log.Log(context.Background(), level, string(msg))
	return len(p), nil
}
