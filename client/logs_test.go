package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logRecorder keeps a Client's log records for the test to check, and
// writes them to the test log (shown with -v or on failure) until the test
// ends.
type logRecorder struct {
	t *testing.T

	mu   sync.Mutex
	recs []slog.Record
	done bool
	// onRecord, if set, sees each record as it is logged, on the logging
	// goroutine.
	onRecord func(slog.Record)
}

// recordLogs returns a recorder that lives until the test ends.
func recordLogs(t *testing.T) *logRecorder {
	r := &logRecorder{t: t}
	t.Cleanup(func() {
		r.mu.Lock()
		r.done = true
		r.mu.Unlock()
	})
	return r
}

// logger returns a logger at level Debug writing to r.
func (r *logRecorder) logger() *slog.Logger { return slog.New(&recordHandler{r: r}) }

// find returns the records with message msg.
func (r *logRecorder) find(msg string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.recs {
		if rec.Message == msg {
			out = append(out, rec)
		}
	}
	return out
}

// errOf returns a record's "err" attribute, or nil.
func errOf(rec slog.Record) error {
	var err error
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			err, _ = a.Value.Any().(error)
			return false
		}
		return true
	})
	return err
}

// recordHandler is the slog.Handler of a logRecorder.
type recordHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(h.attrs...)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", rec.Time.Format("15:04:05.000"), rec.Level, rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.r.mu.Lock()
	h.r.recs = append(h.r.recs, rec)
	if !h.r.done {
		h.r.t.Log(b.String())
	}
	on := h.r.onRecord
	h.r.mu.Unlock()
	if on != nil {
		on(rec)
	}
	return nil
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

// errorsAs reports whether any record's err attribute matches target's
// type, as errors.As does.
func errorsAs[T error](recs []slog.Record) bool {
	for _, rec := range recs {
		var target T
		if err := errOf(rec); err != nil && errors.As(err, &target) {
			return true
		}
	}
	return false
}
