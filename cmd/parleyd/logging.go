package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/parleychat/parley/internal/logdedup"
)

// newLogger makes the node's logger: text or JSON lines on w at level, with
// a warning or error that repeats logged once per interval with its count
// (see logdedup).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format: %q is not text or json", format)
	}
	return slog.New(logdedup.New(h, slog.LevelWarn, logdedup.DefaultInterval)), nil
}
