package main

import (
	"fmt"
	"log/slog"

	"github.com/lni/dragonboat/v4/logger"
)

// installLogger routes dragonboat's errors to slog and drops the rest, as
// Parley's nodes do at their default level.
func installLogger(l *slog.Logger) {
	logger.SetLoggerFactory(func(pkg string) logger.ILogger {
		return &slogAdapter{log: l.With("pkg", pkg)}
	})
}

// slogAdapter is a dragonboat logger.ILogger writing to slog.
type slogAdapter struct{ log *slog.Logger }

// SetLevel ignores dragonboat's level: slog's applies.
func (a *slogAdapter) SetLevel(logger.LogLevel) {}

// Debugf drops the message.
func (a *slogAdapter) Debugf(string, ...any) {}

// Infof drops the message.
func (a *slogAdapter) Infof(string, ...any) {}

// Warningf drops the message: dragonboat warns of routine events.
func (a *slogAdapter) Warningf(string, ...any) {}

// Errorf logs the message as a warning.
func (a *slogAdapter) Errorf(format string, args ...any) { a.log.Warn(fmt.Sprintf(format, args...)) }

// Panicf logs the message and panics.
func (a *slogAdapter) Panicf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.log.Error(msg)
	panic(msg)
}
