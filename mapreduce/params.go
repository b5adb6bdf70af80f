package mapreduce

import (
	"fmt"
	"regexp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// Bounds of a job's parameters.
const (
	// MaxLimit is the most rows a job may return.
	MaxLimit = 10000
	// MaxRooms is the most rooms a job may name.
	MaxRooms = 1000
	// MaxQuery is the longest search expression, in bytes.
	MaxQuery = 1024
)

// Params are a job's checked parameters.
type Params struct {
	transport.AnalyticsParams
	// re is Query compiled.
	re *regexp.Regexp
}

// ParseParams checks p for job j and compiles its query. Every error wraps
// parley.ErrInvalid and says what is wrong.
func ParseParams(j *Job, p transport.AnalyticsParams) (*Params, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("analytics %s: %s: %w", j.Name, fmt.Sprintf(format, args...), parley.ErrInvalid)
	}
	if p.Limit < 0 || p.Limit > MaxLimit {
		return nil, bad("limit %d is out of range 1..%d", p.Limit, MaxLimit)
	}
	if p.Since < 0 || p.Until < 0 {
		return nil, bad("negative time")
	}
	if p.Since != 0 && p.Until != 0 && p.Until <= p.Since {
		return nil, bad("empty time range: until must be after since")
	}
	if len(p.Rooms) > MaxRooms {
		return nil, bad("%d rooms, at most %d", len(p.Rooms), MaxRooms)
	}
	for _, r := range p.Rooms {
		if err := parley.ValidateRoom(r); err != nil {
			return nil, fmt.Errorf("analytics %s: %w", j.Name, err)
		}
	}
	if p.All && len(p.Rooms) > 0 {
		return nil, bad("all rooms and named rooms together")
	}
	switch p.By {
	case "", "room", "user":
	default:
		return nil, bad("by %q: want room or user", p.By)
	}
	out := &Params{AnalyticsParams: p}
	if j.NeedsQuery && p.Query == "" {
		return nil, bad("a query is required")
	}
	if len(p.Query) > MaxQuery {
		return nil, bad("query of %d bytes, at most %d", len(p.Query), MaxQuery)
	}
	if p.Query != "" {
		re, err := regexp.Compile(p.Query)
		if err != nil {
			return nil, bad("query: %v", err)
		}
		out.re = re
	}
	return out, nil
}

// inRange reports whether ts (Unix nanoseconds) is in p's time range.
func (p *Params) inRange(ts int64) bool {
	return (p.Since == 0 || ts >= p.Since) && (p.Until == 0 || ts < p.Until)
}
