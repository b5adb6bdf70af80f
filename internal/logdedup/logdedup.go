// Package logdedup keeps a repeating warning or error from flooding the
// log. Its slog.Handler passes the first record of a level and message on,
// then counts the same level and message for an interval without logging
// them, and at the interval's end logs the last of them once with the
// attribute repeated=N. A record that keeps repeating is so logged about
// once per interval, whatever its rate.
package logdedup

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the window New uses when given 0.
const DefaultInterval = 10 * time.Second

// Handler is the deduplicating slog.Handler. Handlers derived from it by
// WithAttrs and WithGroup share its counts: records are the same when their
// level and message are, whatever their attributes.
type Handler struct {
	inner slog.Handler
	st    *state
}

// state is shared by a Handler and the handlers derived from it.
type state struct {
	interval time.Duration
	min      slog.Level

	mu   sync.Mutex
	seen map[key]*window
}

type key struct {
	level slog.Level
	msg   string
}

// window is one interval of a key: it began with a record passed on, and
// counts the records held back since.
type window struct {
	end        time.Time
	suppressed int
	last       slog.Record
	h          slog.Handler
	flushing   bool
}

// New returns a Handler over inner that deduplicates records at level min
// and above (slog.LevelWarn: warnings and errors) within interval (0 for
// DefaultInterval). Records below min pass through.
func New(inner slog.Handler, min slog.Level, interval time.Duration) *Handler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Handler{inner: inner, st: &state{interval: interval, min: min, seen: make(map[key]*window)}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs), st: h.st}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), st: h.st}
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.st.min {
		return h.inner.Handle(ctx, r)
	}
	st := h.st
	k := key{r.Level, r.Message}
	now := time.Now()
	st.mu.Lock()
	w := st.seen[k]
	if w == nil || (now.After(w.end) && !w.flushing) {
		st.seen[k] = &window{end: now.Add(st.interval)}
		st.mu.Unlock()
		return h.inner.Handle(ctx, r)
	}
	w.suppressed++
	w.last, w.h = r.Clone(), h.inner
	if !w.flushing {
		w.flushing = true
		time.AfterFunc(w.end.Sub(now), func() { st.flush(k) })
	}
	st.mu.Unlock()
	return nil
}

// flush logs the last held-back record of k with its count, and starts a
// new window: a record that keeps coming is counted on.
func (st *state) flush(k key) {
	st.mu.Lock()
	w := st.seen[k]
	if w == nil || w.suppressed == 0 {
		st.mu.Unlock()
		return
	}
	rec, h, n := w.last, w.h, w.suppressed
	st.seen[k] = &window{end: time.Now().Add(st.interval)}
	st.mu.Unlock()
	rec.AddAttrs(slog.Int("repeated", n))
	h.Handle(context.Background(), rec)
}
