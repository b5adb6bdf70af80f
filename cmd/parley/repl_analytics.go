package main

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley/client"
)

const (
	// replJobTimeout bounds an analytics job run from the REPL.
	replJobTimeout = 2 * time.Minute
	// replRows is the most rows /stats and /search show.
	replRows = 20
)

// stats runs job over the current room (every room the user may read when
// there is none) and prints its first rows.
func (r *repl) stats(ctx context.Context, job string) {
	var rooms []string
	scope := "every room you may read"
	if room := r.v.room(); room != "" {
		rooms, scope = []string{room}, room
	}
	ctx, cancel := context.WithTimeout(ctx, replJobTimeout)
	defer cancel()
	res, err := r.c.Analytics(ctx, job, client.AnalyticsParams{Rooms: rooms, Limit: replRows})
	if err != nil {
		r.failed("stats", err)
		return
	}
	lines := []string{paint(r.scr.color, sgrDim, fmt.Sprintf("-- %s over %s: %d messages --", job, clean(scope), res.Progress.Scanned))}
	width := 0
	for _, row := range res.Rows {
		width = max(width, len(row.Key))
	}
	for _, row := range res.Rows {
		if m := row.Msg; m != nil {
			lines = append(lines, fmt.Sprintf("%s#%d %s", clean(m.Room), m.Seq, formatChat(r.scr.color, r.v.loc, *m, "")))
			continue
		}
		lines = append(lines, fmt.Sprintf("  %-*s  %s", width, clean(row.Key), clean(string(row.Value))))
	}
	if len(res.Rows) == 0 {
		lines = append(lines, "  (no rows)")
	}
	r.scr.println(lines...)
}

// search prints the newest messages matching query in every room the user
// may read.
func (r *repl) search(ctx context.Context, query string) {
	ctx, cancel := context.WithTimeout(ctx, replJobTimeout)
	defer cancel()
	res, err := r.c.Analytics(ctx, "search", client.AnalyticsParams{Query: query, Limit: replRows})
	if err != nil {
		r.failed("search", err)
		return
	}
	lines := []string{paint(r.scr.color, sgrDim, fmt.Sprintf("-- %d messages match %s, newest first --", len(res.Rows), clean(query)))}
	for _, row := range res.Rows {
		if m := row.Msg; m != nil {
			lines = append(lines, fmt.Sprintf("%s#%d %s", clean(m.Room), m.Seq, formatChat(r.scr.color, r.v.loc, *m, "")))
		}
	}
	r.scr.println(lines...)
}
