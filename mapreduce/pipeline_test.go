package mapreduce

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// days is generated chat over two weeks with chosen timestamps: what a
// live cluster cannot make quickly, since nodes stamp their own time.
func days(n int) []parley.Message {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{"ann", "ben", "cat", "dan", "eve"}
	rooms := []string{"general", "dev", "ops", "dm.ann.ben"}
	words := strings.Fields("the raft leader is down and the quorum is fine i think pizza coffee deploy")
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	seq := map[string]uint64{}
	ts := start.UnixNano()
	var out []parley.Message
	for range n {
		ts += int64(rng.IntN(int(40 * time.Minute)))
		room := rooms[rng.IntN(len(rooms))]
		seq[room]++
		var text []string
		for range 1 + rng.IntN(6) {
			text = append(text, words[rng.IntN(len(words))])
		}
		m := parley.Message{Room: room, Seq: seq[room], User: users[rng.IntN(len(users))], TS: parley.UnixTime(ts), Text: strings.Join(text, " ")}
		if rng.IntN(20) == 0 {
			m.Kind, m.Text = parley.KindJoin, m.User+" joined"
		}
		out = append(out, m)
	}
	return out
}

// runLocal runs job over msgs the way the cluster does, in one process:
// map tasks of ranges (split as the coordinator splits), spilling past a
// tiny bound, parts partitions, reduce by merging every map output.
func runLocal(t *testing.T, name string, tp transport.AnalyticsParams, msgs []parley.Message) []transport.AnalyticsRow {
	t.Helper()
	job, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseParams(job, tp)
	if err != nil {
		t.Fatal(err)
	}
	const parts = 3
	byRoom := map[string][]parley.Message{}
	var ranges []transport.RoomRange
	for _, m := range msgs {
		if len(byRoom[m.Room]) == 0 {
			ranges = append(ranges, transport.RoomRange{Room: m.Room, From: 1})
		}
		byRoom[m.Room] = append(byRoom[m.Room], m)
	}
	for i := range ranges {
		ranges[i].To = uint64(len(byRoom[ranges[i].Room]))
	}
	dir := t.TempDir()
	var outputs [parts][]string
	spills := 0
	for ti, task := range splitRanges(ranges, 300, job.WholeRooms) {
		tdir := filepath.Join(dir, fmt.Sprint("map", ti))
		mkdir(t, tdir)
		sp := newSpiller(job, tdir, parts, 512)
		for _, r := range task {
			mapper := job.Map(p, r.Room)
			for _, m := range byRoom[r.Room][r.From-1 : r.To] {
				if m.Kind != "" || !p.inRange(m.TS.UnixNano()) {
					continue
				}
				mapper(&m, func(k string, v Value) {
					if err := sp.add(k, v); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
		spills += sp.spills()
		if err := sp.finish(func(part int) string { return partPath(tdir, part) }); err != nil {
			t.Fatal(err)
		}
		for part := range parts {
			outputs[part] = append(outputs[part], partPath(tdir, part))
		}
	}
	if spills == 0 {
		t.Errorf("%s: no map task spilled: the merge of runs is untested", name)
	}
	var recs []Record
	for part := range parts {
		out := filepath.Join(dir, fmt.Sprint("reduce", part))
		if err := mergeRuns(outputs[part], out, func(k string, vals []Value) []Value { return []Value{job.Reduce(k, vals)} }); err != nil {
			t.Fatal(err)
		}
		if err := mergeInto([]string{out}, func(k string, vals []Value) error {
			if len(vals) != 1 {
				t.Errorf("reduced key %q has %d values", k, len(vals))
			}
			recs = append(recs, Record{Key: k, Value: vals[0]})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	sortRecords(job, recs)
	if l := job.limit(p); len(recs) > l {
		recs = recs[:l]
	}
	var rows []transport.AnalyticsRow
	for _, r := range recs {
		row, err := job.Output(p, r)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := osMkdirAll(dir); err != nil {
		t.Fatal(err)
	}
}

func rowStrings(rows []transport.AnalyticsRow) []string {
	var out []string
	for _, r := range rows {
		if r.Msg != nil {
			out = append(out, fmt.Sprintf("%s#%d", r.Msg.Room, r.Msg.Seq))
			continue
		}
		out = append(out, r.Key+"="+string(r.Value))
	}
	return out
}

// TestJobsOverDays checks the jobs whose answers depend on time against
// a brute force written independently, on two weeks of chat.
func TestJobsOverDays(t *testing.T) {
	msgs := days(3000)
	chat := func(since, until int64) []parley.Message {
		var out []parley.Message
		for _, m := range msgs {
			if ts := m.TS.UnixNano(); m.Kind == "" && (since == 0 || ts >= since) && (until == 0 || ts < until) {
				out = append(out, m)
			}
		}
		return out
	}
	day := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

	t.Run("activity", func(t *testing.T) {
		count := map[[3]string]int{}
		for _, m := range chat(0, 0) {
			tm := m.TS.UTC()
			count[[3]string{m.User, day[tm.Weekday()], fmt.Sprintf("%02d", tm.Hour())}]++
		}
		var want []string
		for _, u := range []string{"ann", "ben", "cat", "dan", "eve"} {
			for _, d := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
				for h := range 24 {
					k := [3]string{u, d, fmt.Sprintf("%02d", h)}
					if n := count[k]; n > 0 {
						want = append(want, fmt.Sprintf("%s %s %s=%d", k[0], k[1], k[2], n))
					}
				}
			}
		}
		got := rowStrings(runLocal(t, "activity", transport.AnalyticsParams{By: "user"}, msgs))
		if !slices.Equal(got, want) {
			t.Fatalf("got %d rows %v\nwant %d rows %v", len(got), got[:min(10, len(got))], len(want), want[:min(10, len(want))])
		}
	})

	t.Run("active-users", func(t *testing.T) {
		since := time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC).UnixNano()
		daily, weekly := map[string]map[string]bool{}, map[string]map[string]bool{}
		for _, m := range chat(since, 0) {
			tm := m.TS.UTC()
			y, w := tm.ISOWeek()
			for _, kv := range []struct {
				set map[string]map[string]bool
				key string
			}{{daily, "day " + tm.Format("2006-01-02")}, {weekly, fmt.Sprintf("week %d-W%02d", y, w)}} {
				if kv.set[kv.key] == nil {
					kv.set[kv.key] = map[string]bool{}
				}
				kv.set[kv.key][m.User] = true
			}
		}
		var want []string
		for _, set := range []map[string]map[string]bool{daily, weekly} {
			for k, users := range set {
				want = append(want, fmt.Sprintf("%s=%d", k, len(users)))
			}
		}
		sort.Strings(want)
		got := rowStrings(runLocal(t, "active-users", transport.AnalyticsParams{Since: since}, msgs))
		if !slices.Equal(got, want) || len(daily) < 10 || len(weekly) < 2 {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})

	t.Run("response-time", func(t *testing.T) {
		byRoom := map[string][]parley.Message{}
		for _, m := range chat(0, 0) {
			byRoom[m.Room] = append(byRoom[m.Room], m)
		}
		waits := map[string][]float64{}
		for room, ms := range byRoom {
			runStart := 0
			for i := 1; i < len(ms); i++ {
				if ms[i].User == ms[i-1].User {
					continue
				}
				w := float64(ms[i].TS.Sub(ms[runStart].TS).Nanoseconds()) / 1e6
				waits[room] = append(waits[room], w)
				waits["*"] = append(waits["*"], w)
				runStart = i
			}
		}
		var want []string
		for room, ws := range waits {
			sort.Float64s(ws)
			med := ws[(len(ws)+1)/2-1]
			p90 := ws[(9*len(ws)+9)/10-1]
			b, err := json.Marshal(struct {
				N   int     `json:"n"`
				Med float64 `json:"median_ms"`
				P90 float64 `json:"p90_ms"`
			}{len(ws), med, p90})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, room+"="+string(b))
		}
		sort.Strings(want)
		got := rowStrings(runLocal(t, "response-time", transport.AnalyticsParams{}, msgs))
		if !slices.Equal(got, want) {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})

	t.Run("search", func(t *testing.T) {
		until := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixNano()
		var hits []parley.Message
		for _, m := range chat(0, until) {
			if strings.Contains(m.Text, "pizza") {
				hits = append(hits, m)
			}
		}
		slices.Reverse(hits) // generated in time order; newest first
		var want []string
		for _, m := range hits[:min(len(hits), 15)] {
			want = append(want, fmt.Sprintf("%s#%d", m.Room, m.Seq))
		}
		got := rowStrings(runLocal(t, "search", transport.AnalyticsParams{Query: "piz+a", Until: until, Limit: 15}, msgs))
		if !slices.Equal(got, want) || len(want) < 15 {
			t.Fatalf("got %v\nwant %v", got, want)
		}
	})

	t.Run("top-words", func(t *testing.T) {
		got := rowStrings(runLocal(t, "top-words", transport.AnalyticsParams{Limit: 4}, msgs))
		count := map[string]int{}
		for _, m := range chat(0, 0) {
			for _, w := range strings.Fields(m.Text) {
				switch w {
				case "the", "is", "and", "i":
				default:
					count[w]++
				}
			}
		}
		var keys []string
		for k := range count {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(a, b int) bool {
			if count[keys[a]] != count[keys[b]] {
				return count[keys[a]] > count[keys[b]]
			}
			return keys[a] < keys[b]
		})
		var want []string
		for _, k := range keys[:4] {
			want = append(want, fmt.Sprintf("%s=%d", k, count[k]))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func TestSplitRanges(t *testing.T) {
	rs := []transport.RoomRange{{Room: "a", From: 1, To: 250}, {Room: "b", From: 1, To: 30}, {Room: "c", From: 1, To: 100}}
	got := fmt.Sprint(splitRanges(rs, 100, false))
	if want := "[[{a 1 100}] [{a 101 200}] [{a 201 250} {b 1 30} {c 1 20}] [{c 21 100}]]"; got != want {
		t.Errorf("split:\n got %s\nwant %s", got, want)
	}
	got = fmt.Sprint(splitRanges(rs, 100, true))
	if want := "[[{a 1 250}] [{b 1 30} {c 1 100}]]"; got != want {
		t.Errorf("whole rooms:\n got %s\nwant %s", got, want)
	}
}

func TestWords(t *testing.T) {
	got := Words("The Raft leader's DOWN, and I don't know why: raft-ops 42 é!")
	want := []string{"raft", "leaders", "know", "raft", "ops", "42"} // "down" is a stop word
	if !slices.Equal(got, want) {
		t.Errorf("Words: %q, want %q", got, want)
	}
}

func TestResponseStats(t *testing.T) {
	ms := func(v ...int64) []int64 {
		for i := range v {
			v[i] *= 1e6
		}
		return v
	}
	for _, c := range []struct {
		in  []int64
		out ResponseTimes
	}{
		{nil, ResponseTimes{}},
		{ms(5), ResponseTimes{1, 5, 5}},
		{ms(1, 2), ResponseTimes{2, 1, 2}},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), ResponseTimes{10, 5, 9}},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), ResponseTimes{11, 6, 10}},
	} {
		if got := ResponseStats(c.in); got != c.out {
			t.Errorf("ResponseStats(%v) = %+v, want %+v", c.in, got, c.out)
		}
	}
}

func TestParseParams(t *testing.T) {
	search, _ := Lookup("search")
	count, _ := Lookup("messages-per-user")
	for _, c := range []struct {
		job *Job
		p   transport.AnalyticsParams
		ok  bool
	}{
		{count, transport.AnalyticsParams{}, true},
		{count, transport.AnalyticsParams{Limit: MaxLimit}, true},
		{count, transport.AnalyticsParams{Limit: MaxLimit + 1}, false},
		{count, transport.AnalyticsParams{Limit: -1}, false},
		{count, transport.AnalyticsParams{Since: 10, Until: 10}, false},
		{count, transport.AnalyticsParams{Since: -1}, false},
		{count, transport.AnalyticsParams{Rooms: []string{"ok", "NOT ok"}}, false},
		{count, transport.AnalyticsParams{All: true, Rooms: []string{"a"}}, false},
		{count, transport.AnalyticsParams{By: "moon"}, false},
		{search, transport.AnalyticsParams{}, false},
		{search, transport.AnalyticsParams{Query: "a[b"}, false},
		{search, transport.AnalyticsParams{Query: strings.Repeat("a", MaxQuery+1)}, false},
		{search, transport.AnalyticsParams{Query: "a|b"}, true},
	} {
		_, err := ParseParams(c.job, c.p)
		if (err == nil) != c.ok {
			t.Errorf("%s %+v: err %v, want ok %v", c.job.Name, c.p, err, c.ok)
		}
	}
}

func TestPollPages(t *testing.T) {
	j := &jobRun{done: true}
	for i := range 5000 {
		j.rows = append(j.rows, transport.AnalyticsRow{Key: fmt.Sprint(i), Value: []byte("1")})
	}
	var got []transport.AnalyticsRow
	for pages := 0; len(got) < 5000; pages++ {
		resp := j.poll(len(got))
		if resp.Total != 5000 || len(resp.Rows) == 0 || len(resp.Rows) > pageRows || pages > 3 {
			t.Fatalf("page %d: %d rows of %d", pages, len(resp.Rows), resp.Total)
		}
		got = append(got, resp.Rows...)
	}
	if !slices.EqualFunc(got, j.rows, func(a, b transport.AnalyticsRow) bool { return a.Key == b.Key }) {
		t.Fatal("pages do not add up to the rows")
	}
}
