package mapreduce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/mapreduce"
)

const password = "secret-pass"

var (
	users      = []string{"alice", "bob", "carol", "dave"}
	publicRoom = []string{"general", "random", "dev", "ops", "music"}
	vocabulary = strings.Fields("raft quorum leader pizza coffee deploy the and of rollback shard replica " +
		"snapshot pebble latency you I quic tls cert go rust python kernel bug fix merge review test")
)

// chat is generated conversation: every user writes to every public room
// and to direct-message rooms, in a known vocabulary.
func chat(t *testing.T, addr string, perUser int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	for ui, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialUser(t, addr, u)
			rng := rand.New(rand.NewPCG(uint64(ui), 7))
			rooms := append(slices.Clone(publicRoom), parley.DMRoom(u, users[(ui+1)%len(users)]))
			for i := range perUser {
				n := 1 + rng.IntN(8)
				words := make([]string, n)
				for k := range words {
					words[k] = vocabulary[rng.IntN(len(vocabulary))]
				}
				if i%17 == 0 {
					words = append(words, "error-42")
				}
				room := rooms[rng.IntN(len(rooms))]
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := c.Send(ctx, room, strings.Join(words, " "))
				cancel()
				if err != nil {
					errs <- fmt.Errorf("%s send: %w", u, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func dialUser(t *testing.T, addr, user string) *client.Client {
	t.Helper()
	// A first login hashes with argon2id: slow on a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{
		Servers: []string{addr}, User: user, Password: password,
		KnownClustersPath: filepath.Join(t.TempDir(), "known_clusters"),
	})
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readable is every message user may read, read back through history.
func readable(t *testing.T, c *client.Client) []parley.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rooms, err := c.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []parley.Message
	for _, r := range rooms {
		msgs, err := c.History(ctx, r.Name, client.HistoryOptions{From: 1, Limit: 1 << 30})
		if err != nil {
			t.Fatalf("history %s: %v", r.Name, err)
		}
		if uint64(len(msgs)) != r.LastSeq && len(msgs) > 0 && msgs[len(msgs)-1].Seq < r.LastSeq {
			t.Fatalf("history %s: %d messages, last seq %d", r.Name, len(msgs), r.LastSeq)
		}
		out = append(out, msgs...)
	}
	return out
}

type row struct {
	Key   string
	Value string
}

// bruteForce computes job over msgs the simple way, in one pass each.
func bruteForce(t *testing.T, job string, p client.AnalyticsParams, msgs []parley.Message) []row {
	t.Helper()
	var chat []parley.Message
	for _, m := range msgs {
		if m.Kind != "" || (len(p.Rooms) > 0 && !slices.Contains(p.Rooms, m.Room)) {
			continue
		}
		if (!p.Since.IsZero() && m.TS.Before(p.Since)) || (!p.Until.IsZero() && !m.TS.Before(p.Until)) {
			continue
		}
		chat = append(chat, m)
	}
	counts := map[string]int64{}
	var rows []row
	byCount := func(limit int) []row {
		for k, n := range counts {
			rows = append(rows, row{k, fmt.Sprint(n)})
		}
		sort.Slice(rows, func(a, b int) bool {
			if counts[rows[a].Key] != counts[rows[b].Key] {
				return counts[rows[a].Key] > counts[rows[b].Key]
			}
			return rows[a].Key < rows[b].Key
		})
		if limit > 0 && len(rows) > limit {
			rows = rows[:limit]
		}
		return rows
	}
	switch job {
	case "messages-per-user":
		for _, m := range chat {
			counts[m.User]++
		}
		return byCount(p.Limit)
	case "messages-per-room":
		for _, m := range chat {
			counts[m.Room]++
		}
		return byCount(p.Limit)
	case "top-words":
		for _, m := range chat {
			for _, w := range mapreduce.Words(m.Text) {
				counts[w]++
			}
		}
		return byCount(cmpOr(p.Limit, 20))
	case "activity":
		for _, m := range chat {
			who := m.Room
			if p.By == "user" {
				who = m.User
			}
			counts[mapreduce.ActivityKey(who, m.TS)]++
		}
		for k, n := range counts {
			rows = append(rows, row{k, fmt.Sprint(n)})
		}
		sort.Slice(rows, func(a, b int) bool { return rows[a].Key < rows[b].Key }) // one day: weekday order is key order
		return rows
	case "active-users":
		sets := map[string]map[string]bool{}
		for _, m := range chat {
			tm := m.TS
			for _, k := range []string{mapreduce.DayKey(tm), mapreduce.WeekKey(tm)} {
				if sets[k] == nil {
					sets[k] = map[string]bool{}
				}
				sets[k][m.User] = true
			}
		}
		for k, s := range sets {
			rows = append(rows, row{k, fmt.Sprint(len(s))})
		}
		sort.Slice(rows, func(a, b int) bool { return rows[a].Key < rows[b].Key })
		return rows
	case "response-time":
		waits := map[string][]int64{}
		byRoom := map[string][]parley.Message{}
		for _, m := range chat {
			byRoom[m.Room] = append(byRoom[m.Room], m)
		}
		for room, ms := range byRoom {
			sort.Slice(ms, func(a, b int) bool { return ms[a].Seq < ms[b].Seq })
			for i := 1; i < len(ms); i++ {
				// The wait starts at the first message of the run.
				if ms[i].User == ms[i-1].User {
					continue
				}
				j := i - 1
				for j > 0 && ms[j-1].User == ms[i-1].User {
					j--
				}
				d := ms[i].TS.Sub(ms[j].TS).Nanoseconds()
				waits[room] = append(waits[room], d)
				waits[mapreduce.AllRooms] = append(waits[mapreduce.AllRooms], d)
			}
		}
		for k, w := range waits {
			slices.Sort(w)
			b, _ := json.Marshal(mapreduce.ResponseStats(w))
			rows = append(rows, row{k, string(b)})
		}
		sort.Slice(rows, func(a, b int) bool { return rows[a].Key < rows[b].Key })
		return rows
	case "search":
		re := regexp.MustCompile(p.Query)
		var hits []parley.Message
		for _, m := range chat {
			if re.MatchString(m.Text) {
				hits = append(hits, m)
			}
		}
		sort.Slice(hits, func(a, b int) bool {
			if !hits[a].TS.Equal(hits[b].TS) {
				return hits[a].TS.After(hits[b].TS)
			}
			if hits[a].Room != hits[b].Room {
				return hits[a].Room < hits[b].Room
			}
			return hits[a].Seq > hits[b].Seq
		})
		if len(hits) > cmpOr(p.Limit, 100) {
			hits = hits[:cmpOr(p.Limit, 100)]
		}
		for _, m := range hits {
			rows = append(rows, row{fmt.Sprintf("%s#%d", m.Room, m.Seq), m.User + ": " + m.Text})
		}
		return rows
	}
	t.Fatalf("no brute force for %s", job)
	return nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// rowsOf turns a job's result into comparable rows.
func rowsOf(res *client.AnalyticsResult) []row {
	out := make([]row, 0, len(res.Rows))
	for _, r := range res.Rows {
		if r.Msg != nil {
			out = append(out, row{r.Key, r.Msg.User + ": " + r.Msg.Text})
			continue
		}
		out = append(out, row{r.Key, string(r.Value)})
	}
	return out
}

func checkJob(t *testing.T, c *client.Client, job string, p client.AnalyticsParams, msgs []parley.Message) *client.AnalyticsResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := c.Analytics(ctx, job, p)
	if err != nil {
		t.Fatalf("%s: %v", job, err)
	}
	got, want := rowsOf(res), bruteForce(t, job, p, msgs)
	if len(want) == 0 {
		t.Fatalf("%s: the brute force found nothing: the test data is wrong", job)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s %+v:\n got %d rows %v\nwant %d rows %v", job, p, len(got), head(got), len(want), head(want))
	}
	t.Logf("%s %+v: %d rows, progress %+v", job, p, len(got), res.Progress)
	if res.Progress.TasksDone != res.Progress.TasksTotal || res.Progress.TasksTotal == 0 {
		t.Errorf("%s: progress %+v at the end", job, res.Progress)
	}
	return res
}

func head(rs []row) []row { return rs[:min(len(rs), 12)] }

// TestJobsMatchBruteForce runs every built-in job on a 3-node cluster and
// compares it with a brute-force computation over history. The map tasks'
// memory bound is tiny, so every task spills and merges runs.
func TestJobsMatchBruteForce(t *testing.T) {
	c := daemontest.StartCluster(t, 3, daemontest.Options{Configure: func(_ int, cfg *daemon.Config) {
		cfg.AnalyticsMemBytes = 2 << 10
	}})
	chat(t, c.Addr(0), 150)
	alice := dialUser(t, c.Addr(1), "alice")
	msgs := readable(t, alice)
	for _, m := range msgs {
		if m.Room == "dm.carol.dave" {
			t.Fatalf("alice read carol and dave's direct messages")
		}
	}
	jobs := []struct {
		name string
		p    client.AnalyticsParams
	}{
		{"messages-per-user", client.AnalyticsParams{}},
		{"messages-per-room", client.AnalyticsParams{}},
		{"messages-per-user", client.AnalyticsParams{Rooms: []string{"general", "dm.alice.bob"}}},
		{"top-words", client.AnalyticsParams{}},
		{"top-words", client.AnalyticsParams{Limit: 5, Rooms: []string{"dev"}}},
		{"activity", client.AnalyticsParams{}},
		{"activity", client.AnalyticsParams{By: "user"}},
		{"active-users", client.AnalyticsParams{}},
		{"response-time", client.AnalyticsParams{}},
		{"search", client.AnalyticsParams{Query: `error-\d+`}},
		{"search", client.AnalyticsParams{Query: `(?i)PIZZA.*coffee`, Limit: 7}},
	}
	for _, j := range jobs {
		checkJob(t, alice, j.name, j.p, msgs)
	}
	// A time range: the middle half of the messages.
	ts := make([]int64, len(msgs))
	for i, m := range msgs {
		ts[i] = m.TS.UnixNano()
	}
	slices.Sort(ts)
	p := client.AnalyticsParams{Since: time.Unix(0, ts[len(ts)/4]), Until: time.Unix(0, ts[3*len(ts)/4])}
	res := checkJob(t, alice, "messages-per-user", p, msgs)
	if res.Progress.Scanned < uint64(len(msgs)) {
		t.Errorf("scanned %d messages, want at least the %d readable", res.Progress.Scanned, len(msgs))
	}
	// messages-per-room never shows another pair's direct messages.
	res = checkJob(t, alice, "messages-per-room", client.AnalyticsParams{}, msgs)
	for _, r := range res.Rows {
		if strings.HasPrefix(r.Key, "dm.") && r.Key != "dm.alice.bob" && r.Key != "dm.alice.dave" {
			t.Errorf("alice's job counted %s", r.Key)
		}
	}
}
