package chatcore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lni/dragonboat/v4/logger"
)

var dragonboatLoggerOnce sync.Once

// installDragonboatLogger routes dragonboat's logs into slog. Dragonboat
// allows one factory per process, so the first node's logger wins. Its
// warnings (dropped proposals during an election and the like) are routine
// in a cluster that survives failures, so they go to Debug; its errors to
// Warn.
func installDragonboatLogger(l *slog.Logger) {
	dragonboatLoggerOnce.Do(func() {
		logger.SetLoggerFactory(func(pkg string) logger.ILogger {
			return &slogAdapter{log: l.With("component", "dragonboat", "pkg", pkg), quiet: pkg == "transport"}
		})
	})
}

type slogAdapter struct {
	log *slog.Logger
	// quiet adapters (dragonboat's transport) report failed connections to
	// down peers, which a fault-tolerant cluster expects: Debug only.
	quiet bool
}

func (a *slogAdapter) SetLevel(logger.LogLevel) {}

func (a *slogAdapter) emit(level slog.Level, format string, args []interface{}) {
	if a.log.Enabled(context.Background(), level) {
		a.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (a *slogAdapter) Debugf(format string, args ...interface{}) {}
func (a *slogAdapter) Infof(format string, args ...interface{})  {}
func (a *slogAdapter) Warningf(format string, args ...interface{}) {
	a.emit(slog.LevelDebug, format, args)
}
func (a *slogAdapter) Errorf(format string, args ...interface{}) {
	level := slog.LevelWarn
	if a.quiet {
		level = slog.LevelDebug
	}
	a.emit(level, format, args)
}
func (a *slogAdapter) Panicf(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	a.log.Error(msg)
	panic(msg)
}
