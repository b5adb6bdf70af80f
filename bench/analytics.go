package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/mapreduce"
)

// AnalyticsParams shapes the analytics scenario.
type AnalyticsParams struct {
	// Messages are sent over Rooms rooms by Senders clients before the
	// jobs run.
	Messages int `json:"messages"`
	Rooms    int `json:"rooms"`
	Senders  int `json:"senders"`
	// Query is the search job's expression.
	Query string `json:"query"`
}

// AnalyticsResult is the analytics scenario's outcome: the load, the
// export, and each job on the cluster and as a single-threaded scan.
type AnalyticsResult struct {
	Params AnalyticsParams `json:"params"`
	// LoadS is how long sending the messages took.
	LoadS float64 `json:"load_s"`
	// ExportS is how long reading the rooms' history into JSON Lines took.
	ExportS     float64              `json:"export_s"`
	ExportBytes int64                `json:"export_bytes"`
	Jobs        []AnalyticsJobResult `json:"jobs"`
}

// AnalyticsJobResult is one job: on the cluster, and the same computation
// as one Go scan over the exported JSON Lines on this machine.
type AnalyticsJobResult struct {
	Job string `json:"job"`
	// WallS is from submitting the job to having its rows.
	WallS         float64 `json:"wall_s"`
	Scanned       uint64  `json:"scanned"`
	ScannedPerSec float64 `json:"scanned_per_sec"`
	Tasks         int     `json:"tasks"`
	// RSS is each node's memory after the job; its Peak the high-water
	// mark during the job.
	RSS map[string]RSS `json:"rss"`
	// BaselineS is the single-threaded scan's time, BaselinePerSec its
	// messages per second, and SpeedUp BaselineS / WallS.
	BaselineS      float64 `json:"baseline_s"`
	BaselinePerSec float64 `json:"baseline_per_sec"`
	SpeedUp        float64 `json:"speed_up"`
	// Match is whether both gave the same rows.
	Match bool `json:"match"`
}

// analyticsWords is the load's vocabulary.
var analyticsWords = strings.Fields(`raft quorum leader follower snapshot replica shard pebble latency
	throughput deploy rollback kernel network switch router cable laptop pi cluster node message room
	the a and of to is in it you that we they this for on with be at have not are pizza coffee tea lunch`)

// RunAnalytics sends the load, exports it, and runs messages-per-user,
// top-words and search on the cluster and as a single-threaded scan.
func RunAnalytics(ctx context.Context, c *Cluster, workDir string, p AnalyticsParams) (AnalyticsResult, error) {
	res := AnalyticsResult{Params: p}
	rooms := make([]string, p.Rooms)
	for i := range rooms {
		rooms[i] = roomName("mr", i)
	}
	t0 := time.Now()
	if err := analyticsLoad(ctx, c, rooms, p); err != nil {
		return res, err
	}
	res.LoadS = round3(time.Since(t0).Seconds())
	cl, err := c.Dial(ctx, "mr", c.Nodes[0])
	if err != nil {
		return res, err
	}
	defer cl.Close()
	export := filepath.Join(workDir, "analytics-export.jsonl")
	t0 = time.Now()
	if res.ExportBytes, err = exportJSONL(ctx, cl, rooms, export); err != nil {
		return res, err
	}
	res.ExportS = round3(time.Since(t0).Seconds())
	defer os.Remove(export)
	for _, job := range []string{"messages-per-user", "top-words", "search"} {
		jr, err := analyticsJob(ctx, c, cl, job, rooms, p, export)
		if err != nil {
			return res, fmt.Errorf("%s: %w", job, err)
		}
		res.Jobs = append(res.Jobs, jr)
	}
	return res, nil
}

// analyticsLoad sends p.Messages messages of a few random words.
func analyticsLoad(ctx context.Context, c *Cluster, rooms []string, p AnalyticsParams) error {
	cls, err := c.DialMany(ctx, "mrload", p.Senders, c.Nodes)
	if err != nil {
		return err
	}
	defer closeAll(cls)
	var next atomic.Int64
	errs := make([]error, len(cls))
	var wg sync.WaitGroup
	for w, cl := range cls {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(p.Messages) {
					return
				}
				words := make([]string, 3+rng.IntN(10))
				for k := range words {
					words[k] = analyticsWords[rng.IntN(len(analyticsWords))]
				}
				sctx, cancel := context.WithTimeout(ctx, sendTimeout)
				_, err := cl.Send(sctx, rooms[int(i)%len(rooms)], strings.Join(words, " "))
				cancel()
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return ctx.Err()
}

// exportLine is a message as "parley history --json" prints it.
type exportLine struct {
	Room string `json:"room"`
	Seq  uint64 `json:"seq"`
	ID   string `json:"id"`
	User string `json:"user"`
	TS   string `json:"ts"`
	Text string `json:"text"`
	Kind string `json:"kind,omitempty"`
}

// exportJSONL writes every message of rooms to path, one JSON line each.
func exportJSONL(ctx context.Context, cl *client.Client, rooms []string, path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rooms {
		from := uint64(1)
		for {
			hctx, cancel := context.WithTimeout(ctx, time.Minute)
			msgs, err := cl.History(hctx, r, client.HistoryOptions{From: from, Limit: 1000})
			cancel()
			if err != nil {
				return 0, fmt.Errorf("export %s: %w", r, err)
			}
			for _, m := range msgs {
				if err := enc.Encode(exportLine{Room: m.Room, Seq: m.Seq, ID: m.ID.String(), User: m.User,
					TS: m.TS.UTC().Format(time.RFC3339Nano), Text: m.Text, Kind: m.Kind}); err != nil {
					return 0, fmt.Errorf("export: %w", err)
				}
			}
			if len(msgs) == 0 {
				break
			}
			from = msgs[len(msgs)-1].Seq + 1
		}
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return st.Size(), nil
}

// analyticsJob runs job on the cluster, then as the baseline scan.
func analyticsJob(ctx context.Context, c *Cluster, cl *client.Client, job string, rooms []string, p AnalyticsParams, export string) (AnalyticsJobResult, error) {
	jr := AnalyticsJobResult{Job: job}
	params := client.AnalyticsParams{Rooms: rooms}
	if job == "search" {
		params.Query = p.Query
	}
	if err := c.ResetPeakRSS(); err != nil {
		return jr, err
	}
	t0 := time.Now()
	res, err := cl.Analytics(ctx, job, params)
	if err != nil {
		return jr, err
	}
	jr.WallS = round3(time.Since(t0).Seconds())
	jr.Scanned, jr.Tasks = res.Progress.Scanned, res.Progress.TasksTotal
	jr.ScannedPerSec = round3(float64(jr.Scanned) / max(jr.WallS, 1e-9))
	if jr.RSS, err = c.RSS(); err != nil {
		return jr, err
	}
	t0 = time.Now()
	want, scanned, err := baseline(export, job, p.Query)
	if err != nil {
		return jr, err
	}
	jr.BaselineS = round3(time.Since(t0).Seconds())
	jr.BaselinePerSec = round3(float64(scanned) / max(jr.BaselineS, 1e-9))
	jr.SpeedUp = round3(jr.BaselineS / max(jr.WallS, 1e-9))
	var got []string
	for _, r := range res.Rows {
		got = append(got, r.Key+"="+string(r.Value))
	}
	jr.Match = slices.Equal(got, want)
	return jr, nil
}

// baseline is what one would otherwise write: one single-threaded pass
// over the exported JSON Lines. It returns the rows as the job does
// ("key=value") and the messages read.
func baseline(path, job, query string) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	var re *regexp.Regexp
	if job == "search" {
		re = regexp.MustCompile(query)
	}
	counts := map[string]int64{}
	type hit struct {
		room string
		seq  uint64
		ts   time.Time
	}
	var hits []hit
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var m exportLine
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return nil, n, fmt.Errorf("baseline: %w", err)
		}
		n++
		if m.Kind != "" {
			continue
		}
		switch job {
		case "messages-per-user":
			counts[m.User]++
		case "top-words":
			for _, w := range mapreduce.Words(m.Text) {
				counts[w]++
			}
		case "search":
			if re.MatchString(m.Text) {
				ts, _ := time.Parse(time.RFC3339Nano, m.TS)
				hits = append(hits, hit{m.Room, m.Seq, ts})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, n, fmt.Errorf("baseline: %w", err)
	}
	var out []string
	if job == "search" {
		// Newest first, then by room, then newest seq: the job's order.
		slices.SortFunc(hits, func(a, b hit) int {
			if c := b.ts.Compare(a.ts); c != 0 {
				return c
			}
			if c := strings.Compare(a.room, b.room); c != 0 {
				return c
			}
			return int(b.seq) - int(a.seq)
		})
		for _, h := range hits[:min(len(hits), 100)] {
			out = append(out, fmt.Sprintf("%s#%d=", h.room, h.seq))
		}
		return out, n, nil
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if counts[a] != counts[b] {
			return int(counts[b] - counts[a])
		}
		return strings.Compare(a, b)
	})
	if job == "top-words" {
		keys = keys[:min(len(keys), 20)]
	}
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return out, n, nil
}
