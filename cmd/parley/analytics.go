package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// runAnalytics implements "parley analytics list" and "parley analytics
// JOB [flags]": it runs the job on the cluster and prints its rows, with a
// progress bar on stderr when stderr is a terminal.
func runAnalytics(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("analytics", "parley analytics list | parley analytics JOB [--room R]... [--since T] [--until T] [--limit K] [--query Q] [--by room|user] [--all-rooms] [--json|--csv] [flags]")
	jf := jobFlags(f)
	job, rest := splitFirst(args)
	if err := f.parse(e, rest); err != nil {
		return err
	}
	if job == "" && f.NArg() > 0 {
		job, rest = f.Arg(0), f.Args()[1:]
		if err := f.parse(e, rest); err != nil {
			return err
		}
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	if job == "" {
		return usagef("name a job, or 'list' to see them")
	}
	if job == "list" {
		list := func(ctx context.Context, c *client.Client) ([]transport.AnalyticsJob, error) {
			return c.AnalyticsJobs(ctx)
		}
		return query(ctx, e, f, list, (*printer).jobs)
	}
	return jf.run(ctx, e, f, job)
}

// runSearch implements "parley search Q [--room R]...": the search job.
func runSearch(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("search", "parley search QUERY [--room R]... [--since T] [--until T] [--limit K] [--json|--csv] [flags]")
	jf := jobFlags(f)
	q, rest := splitFirst(args)
	if err := f.parse(e, rest); err != nil {
		return err
	}
	if q == "" && f.NArg() > 0 {
		q, rest = f.Arg(0), f.Args()[1:]
		if err := f.parse(e, rest); err != nil {
			return err
		}
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q (quote a query with spaces)", f.Arg(0))
	}
	if q == "" {
		return usagef("no query: parley search QUERY (a Go regular expression)")
	}
	*jf.query = q
	return jf.run(ctx, e, f, "search")
}

// splitFirst takes a leading argument that is not a flag off args.
func splitFirst(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// analyticsFlags are the flags of a job's parameters.
type analyticsFlags struct {
	rooms        *roomList
	since, until *string
	limit        *int
	query, by    *string
	all, csv     *bool
}

func jobFlags(f *flagSet) analyticsFlags {
	jf := analyticsFlags{rooms: &roomList{}}
	f.Var(jf.rooms, "room", "read only this `room` (repeat, or separate with commas; default: every room you may read)")
	jf.since = f.String("since", "", "only messages from `T` on: RFC 3339, YYYY-MM-DD, or a duration ago such as 24h")
	jf.until = f.String("until", "", "only messages before `T` (as --since)")
	jf.limit = f.Int("limit", 0, "at most `K` rows (default: the job's)")
	jf.query = f.String("query", "", "the search `regexp` (Go syntax)")
	jf.by = f.String("by", "", "activity per room or per user (`room|user`)")
	jf.all = f.Bool("all-rooms", false, "every room of the cluster, other people's direct messages included (needs an administrator; without it and --room, a job reads the rooms you may read)")
	f.BoolVar(jf.all, "all", false, "same as --all-rooms")
	jf.csv = f.Bool("csv", false, "print CSV")
	return jf
}

// run runs job with the flags' parameters and prints its rows.
func (jf analyticsFlags) run(ctx context.Context, e *env, f *flagSet, job string) error {
	now := time.Now()
	since, err := parseWhen(*jf.since, now)
	if err != nil {
		return usagef("--since: %v", err)
	}
	until, err := parseWhen(*jf.until, now)
	if err != nil {
		return usagef("--until: %v", err)
	}
	if *jf.csv && f.common.json {
		return usagef("--json and --csv go alone")
	}
	c, _, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	bar := newProgressBar(e.stderr, isTerminal(e.stderr))
	// A job may run for long: it is bounded by Ctrl-C, not --timeout.
	res, err := c.Analytics(ctx, job, client.AnalyticsParams{
		Rooms: jf.rooms.names, Since: since, Until: until, Limit: *jf.limit,
		Query: *jf.query, By: *jf.by, All: *jf.all, Progress: bar.show,
	})
	bar.clear()
	if err != nil {
		return err
	}
	p := newPrinter(e.stdout, f.common.json)
	switch {
	case *jf.csv:
		return p.rowsCSV(res.Rows)
	default:
		return p.rows(res.Rows)
	}
}

// roomList is a repeatable --room.
type roomList struct{ names []string }

func (r *roomList) String() string { return strings.Join(r.names, ",") }

func (r *roomList) Set(v string) error {
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			r.names = append(r.names, n)
		}
	}
	return nil
}

// parseWhen reads a time: RFC 3339, a date (midnight UTC), or a duration
// before now. "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, YYYY-MM-DD, or a duration ago like 24h)", s)
}

// jobJSON is a job in "analytics list --json".
type jobJSON struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

func (p *printer) jobs(js []transport.AnalyticsJob) error {
	if p.json {
		for _, j := range js {
			if err := p.writeJSON(jobJSON{j.Name, j.Summary}); err != nil {
				return err
			}
		}
		return nil
	}
	var b strings.Builder
	for _, j := range js {
		fmt.Fprintf(&b, "%-18s %s\n", j.Name, j.Summary)
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// rowJSON is a result row in --json: {"key":…, "value":…}.
type rowJSON struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// rows prints result rows: messages as history does, other rows as "KEY
// VALUE" lines or {"key","value"} JSON lines.
func (p *printer) rows(rows []transport.AnalyticsRow) error {
	if len(rows) == 0 && !p.json {
		_, err := fmt.Fprintln(p.w, "(no rows)")
		return err
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r.Key))
	}
	for _, r := range rows {
		var err error
		switch {
		case r.Msg != nil:
			err = p.message(*r.Msg)
		case p.json:
			err = p.writeJSON(rowJSON{Key: r.Key, Value: json.RawMessage(r.Value)})
		default:
			_, err = fmt.Fprintf(p.w, "%-*s  %s\n", width, clean(r.Key), clean(string(r.Value)))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rowsCSV prints rows as CSV with a header: key,value, or for messages
// room,seq,id,user,ts,text.
func (p *printer) rowsCSV(rows []transport.AnalyticsRow) error {
	w := csv.NewWriter(p.w)
	msgs := len(rows) > 0 && rows[0].Msg != nil
	if msgs {
		w.Write([]string{"room", "seq", "id", "user", "ts", "text"})
	} else {
		w.Write([]string{"key", "value"})
	}
	for _, r := range rows {
		if m := r.Msg; m != nil {
			w.Write([]string{m.Room, strconv.FormatUint(m.Seq, 10), m.ID.String(), m.User, m.TS.UTC().Format(time.RFC3339Nano), m.Text})
			continue
		}
		w.Write([]string{r.Key, string(r.Value)})
	}
	w.Flush()
	return w.Error()
}

// progressBar draws a job's progress on one terminal line.
type progressBar struct {
	w     io.Writer
	on    bool
	drawn bool
}

func newProgressBar(w io.Writer, on bool) *progressBar { return &progressBar{w: w, on: on} }

func (b *progressBar) show(p transport.AnalyticsProgress) {
	if !b.on || p.TasksTotal == 0 {
		return
	}
	const width = 30
	filled := width * p.TasksDone / p.TasksTotal
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d tasks, %d/%d messages ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		p.TasksDone, p.TasksTotal, p.Scanned, p.Messages)
	b.drawn = true
}

func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
