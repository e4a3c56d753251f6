package conf

import (
	"log/slog"
	"testing"
)

func TestSlogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "": slog.LevelInfo, "info": slog.LevelInfo, "NOTICE": slog.LevelWarn,
		"warn": slog.LevelWarn, "err": slog.LevelError, "crit": slog.LevelError, "emerg": slog.LevelError,
	} {
		if got := SlogLevel(in); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", in, got, want)
		}
	}
}
