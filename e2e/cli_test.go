package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/placement"
)

// Keys of the CLI's JSON output.
var (
	sentKeys    = []string{"id", "room", "seq"}
	messageKeys = []string{"id", "room", "seq", "text", "ts", "user"}
	nodeKeys    = []string{"addr", "id", "leaders", "name", "state", "up", "voters"}
	shardKeys   = []string{"id", "leader", "non_voting", "replicas", "term"}
	// shardExtraKeys are keys a shard line may carry besides shardKeys:
	// only documented ones. "moving" names the voters a shard is moving
	// to, while a move is in progress.
	shardExtraKeys = []string{"moving"}
)

// TestCLI drives the built parley binary against the shared cluster, with
// PARLEY_SERVER, PARLEY_USER, PARLEY_PASSWORD and a config directory of its
// own, and checks its output line by line against what the SDK reads.
func TestCLI(t *testing.T) {
	c := sharedCluster(t)
	user := uniq("cli")
	env := c.cli(t, user)
	sdk := c.Dial(t, user)

	t.Run("send_stdin", func(t *testing.T) {
		room := uniq("cli-stdin")
		lines := []string{"one", "two", "three", "four", "five"}
		r := env.mustRun(t, strings.Join(lines, "\n")+"\n", "send", "--room", room)
		out := splitLines(r.stdout)
		if len(out) != len(lines) {
			t.Fatalf("send printed %d lines for %d messages:\n%s", len(out), len(lines), r.stdout)
		}
		re := regexp.MustCompile(`^sent ` + regexp.QuoteMeta(room) + `#(\d+) ([0-9A-Z]{26})$`)
		hist := history(t, sdk, room)
		if len(hist) != len(lines) {
			t.Fatalf("room holds %d messages, want %d", len(hist), len(lines))
		}
		for i, l := range out {
			m := re.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("line %d %q is not \"sent %s#SEQ ID\"", i+1, l, room)
			}
			if want := fmt.Sprint(i + 1); m[1] != want {
				t.Errorf("line %d: seq %s, want %s (in order)", i+1, m[1], want)
			}
			if h := hist[i]; m[2] != h.ID.String() || h.Text != lines[i] || h.User != user {
				t.Errorf("line %d says %s; seq %d holds %s", i+1, m[2], h.Seq, describe(h))
			}
		}
	})

	t.Run("send_json", func(t *testing.T) {
		room := uniq("cli-json")
		r := env.mustRun(t, "", "send", "--room", room, "--json", "hello", "world")
		out := splitLines(r.stdout)
		if len(out) != 1 {
			t.Fatalf("send --json printed %d lines:\n%s", len(out), r.stdout)
		}
		obj := jsonObject(t, out[0], sentKeys, nil)
		var res struct {
			Room string `json:"room"`
			Seq  uint64 `json:"seq"`
			ID   string `json:"id"`
		}
		decode(t, out[0], &res)
		hist := history(t, sdk, room)
		if res.Room != room || res.Seq != 1 || len(hist) != 1 || hist[0].ID.String() != res.ID || hist[0].Text != "hello world" {
			t.Errorf("send --json printed %v; the room holds %v", obj, hist)
		}
		if _, err := parley.ParseMsgID(res.ID); err != nil {
			t.Errorf("id %q: %v", res.ID, err)
		}
	})

	t.Run("history_json", func(t *testing.T) {
		room := uniq("cli-hist")
		led := &ledger{}
		led.mustSend(t, sdk, user, room, "h", 6)
		r := env.mustRun(t, "", "history", "--room", room, "--last", "3", "--json")
		out := splitLines(r.stdout)
		hist := history(t, sdk, room)
		if len(out) != 3 {
			t.Fatalf("history --last 3 printed %d lines:\n%s", len(out), r.stdout)
		}
		for i, l := range out {
			checkMessageLine(t, l, hist[3+i])
		}
	})

	t.Run("tail_json", func(t *testing.T) {
		room := uniq("cli-tail")
		led := &ledger{}
		led.mustSend(t, sdk, user, room, "t", 4)
		tail := env.start(t, "tail", "--room", room, "--from", "2", "--json")
		hist := history(t, sdk, room)
		for _, m := range hist[1:] {
			checkMessageLine(t, tail.next(t), m)
		}
		// The stored ones are out; the next one arrives live.
		led.mustSend(t, sdk, user, room, "live", 1)
		hist = history(t, sdk, room)
		checkMessageLine(t, tail.next(t), hist[len(hist)-1])
		code, rest := tail.interrupt(t)
		if code != 0 {
			t.Errorf("tail exited %d after SIGINT, want 0; stderr:\n%s", code, tail.stderr.String())
		}
		if len(rest) > 0 {
			t.Errorf("tail printed more than the room holds: %q", rest)
		}
	})

	t.Run("status_json", func(t *testing.T) {
		r := env.mustRun(t, "", "status", "--json")
		out := splitLines(r.stdout)
		if len(out) != 1 {
			t.Fatalf("status --json printed %d lines:\n%s", len(out), r.stdout)
		}
		top := jsonObject(t, out[0], []string{"nodes", "shards"}, nil)
		var nodes, shards []json.RawMessage
		decode(t, string(top["nodes"]), &nodes)
		decode(t, string(top["shards"]), &shards)
		for _, n := range nodes {
			jsonObject(t, string(n), nodeKeys, nil)
		}
		for _, s := range shards {
			jsonObject(t, string(s), shardKeys, shardExtraKeys)
		}
		var st struct {
			Nodes []struct {
				ID   uint64 `json:"id"`
				Name string `json:"name"`
				Addr string `json:"addr"`
				Up   bool   `json:"up"`
			} `json:"nodes"`
			Shards []struct {
				ID       uint64   `json:"id"`
				Leader   uint64   `json:"leader"`
				Term     uint64   `json:"term"`
				Replicas []uint64 `json:"replicas"`
			} `json:"shards"`
		}
		decode(t, out[0], &st)
		ids := c.nodeIDs()
		if len(st.Nodes) != len(c.Nodes) {
			t.Fatalf("status lists %d nodes, want %d", len(st.Nodes), len(c.Nodes))
		}
		for _, n := range st.Nodes {
			want := c.NodeByID(n.ID)
			if want == nil || n.Name != want.Name || n.Addr != want.Client || !n.Up {
				t.Errorf("status lists node %+v; the cluster is %s, all up", n, c)
			}
		}
		if len(st.Shards) != roomShards+1 {
			t.Fatalf("status lists %d shards, want %d", len(st.Shards), roomShards+1)
		}
		wantIDs := append([]uint64{placement.RegistryShard}, placement.RoomShards(roomShards)...)
		for i, s := range st.Shards {
			if s.ID != wantIDs[i] || !slices.Contains(ids, s.Leader) || s.Term == 0 || !slices.Equal(s.Replicas, ids) {
				t.Errorf("status lists shard %+v; want id %d, a leader among %v, a term, replicas %v", s, wantIDs[i], ids, ids)
			}
		}
	})

	t.Run("known_clusters_in_config_dir", func(t *testing.T) {
		b, err := os.ReadFile(env.knownClustersPath())
		if err != nil {
			t.Fatalf("parley kept no pins under XDG_CONFIG_HOME: %v", err)
		}
		for _, a := range c.Addrs() {
			if !strings.Contains(string(b), a+" ") {
				t.Errorf("%s pins no CA for %s:\n%s", env.knownClustersPath(), a, b)
			}
		}
	})
}

// checkMessageLine checks one JSON line of history or tail against the
// stored message m: exactly the documented keys, the same values, and ts in
// RFC 3339 with nanoseconds, equal to the stored stamp.
func checkMessageLine(t *testing.T, line string, m parley.Message) {
	t.Helper()
	jsonObject(t, line, messageKeys, nil)
	var got struct {
		Room string `json:"room"`
		Seq  uint64 `json:"seq"`
		ID   string `json:"id"`
		User string `json:"user"`
		TS   string `json:"ts"`
		Text string `json:"text"`
	}
	decode(t, line, &got)
	if got.Room != m.Room || got.Seq != m.Seq || got.ID != m.ID.String() || got.User != m.User || got.Text != m.Text {
		t.Errorf("line %s; seq %d holds %s", line, m.Seq, describe(m))
	}
	ts, err := time.Parse(time.RFC3339Nano, got.TS)
	if err != nil {
		t.Errorf("ts %q is not RFC 3339: %v", got.TS, err)
		return
	}
	if !ts.Equal(m.TS) {
		t.Errorf("ts %q is %d ns since the epoch; the stored stamp is %d", got.TS, ts.UnixNano(), m.TS.UnixNano())
	}
}

// jsonObject decodes line as one JSON object whose keys must be exactly
// required, plus any of optional.
func jsonObject(t *testing.T, line string, required, optional []string) map[string]json.RawMessage {
	t.Helper()
	var obj map[string]json.RawMessage
	decode(t, line, &obj)
	var keys []string
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: key %q missing", line, k)
		}
	}
	for _, k := range keys {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			t.Errorf("%s: undocumented key %q (keys %v, want %v)", line, k, keys, required)
		}
	}
	return obj
}

// decode unmarshals one JSON value strictly.
func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not the JSON expected: %v:\n%s", err, s)
	}
}

// splitLines splits output into its non-empty lines.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// history returns room's whole history through cl.
func history(t *testing.T, cl *client.Client, room string) []parley.Message {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	h, err := cl.History(ctx, room, client.HistoryOptions{From: 1, Limit: 1 << 30})
	if err != nil {
		t.Fatalf("history of %s: %v", room, err)
	}
	return h
}
