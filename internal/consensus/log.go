package consensus

import (
	"context"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// raftLogger bridges raft's hclog output into the injected slog logger.
// Raft's chatty INFO lines are logged at slog's Debug level.
func raftLogger(l *slog.Logger) hclog.Logger {
	ctx := context.Background()
	level := hclog.Off
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		level = hclog.Info
	case l.Enabled(ctx, slog.LevelWarn):
		level = hclog.Warn
	}
	if level == hclog.Off {
		return hclog.NewNullLogger()
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:   "raft",
		Level:  level,
		Output: slog.NewLogLogger(l.Handler(), slog.LevelDebug).Writer(),
	})
}
