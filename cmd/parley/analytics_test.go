package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/daemon/daemontest"
)

// TestAnalyticsCommands runs analytics and search against a real cluster.
func TestAnalyticsCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	ca := cl.CAFile()
	for _, s := range []struct{ user, room, text string }{
		{"alice", "general", "pizza tonight?"},
		{"bob", "general", "pizza yes, and coffee"},
		{"bob", "dev", "the build is red"},
		{"carol", "dev", "coffee first"},
	} {
		te := newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: s.user, envPassword: "pw"})
		if code := te.run("send", "--ca", ca, "--room", s.room, s.text); code != 0 {
			t.Fatalf("send: exit %d: %s", code, te.errOut.String())
		}
	}
	vars := map[string]string{envServer: cl.Addr(0), envUser: "alice", envPassword: "pw"}
	run := func(want int, args ...string) *testEnv {
		t.Helper()
		te := newTestEnv(t, vars)
		if code := te.run(append([]string{args[0], "--ca", ca}, args[1:]...)...); code != want {
			t.Fatalf("%v: exit %d, want %d; stderr %s", args, code, want, te.errOut.String())
		}
		return te
	}

	te := run(0, "analytics", "list")
	if !strings.Contains(te.out.String(), "messages-per-user") || !strings.Contains(te.out.String(), "search") {
		t.Errorf("analytics list:\n%s", te.out.String())
	}
	// The job name first, flags after it, as the usage line shows.
	te = newTestEnv(t, vars)
	if code := te.run("analytics", "messages-per-user", "--ca", ca, "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.errOut.String())
	}
	var got []string
	for _, l := range lines(te.out.String()) {
		var r struct {
			Key   string `json:"key"`
			Value int    `json:"value"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, r.Key+"="+string(rune('0'+r.Value)))
	}
	if want := []string{"bob=2", "alice=1", "carol=1"}; !slices.Equal(got, want) {
		t.Errorf("messages-per-user --json: %v, want %v", got, want)
	}
	te = newTestEnv(t, vars)
	if code := te.run("analytics", "top-words", "--ca", ca, "--room", "general", "--room", "dev", "--limit", "2", "--csv"); code != 0 {
		t.Fatalf("exit %d: %s", code, te.errOut.String())
	}
	if want := "key,value\ncoffee,2\npizza,2\n"; te.out.String() != want {
		t.Errorf("top-words --csv:\n%q, want\n%q", te.out.String(), want)
	}
	te = run(0, "search", "--json", "coff?ee")
	var msgs []map[string]any
	for _, l := range lines(te.out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("search line %q: %v", l, err)
		}
		msgs = append(msgs, m)
	}
	if len(msgs) != 2 || msgs[0]["text"] != "coffee first" || msgs[1]["user"] != "bob" {
		t.Fatalf("search --json: %v", msgs)
	}
	for _, k := range []string{"room", "seq", "id", "user", "ts", "text"} {
		if _, ok := msgs[0][k]; !ok {
			t.Errorf("search row has no %q (history --json has)", k)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, msgs[0]["ts"].(string)); err != nil {
		t.Errorf("ts: %v", err)
	}
	te = run(0, "search", "pizza", "--room", "dev")
	if te.out.String() != "(no rows)\n" {
		t.Errorf("search in dev: %q", te.out.String())
	}

	// Bad input: usage errors exit 2, refusals 1 with the code.
	for _, tc := range []struct {
		code int
		say  string
		args []string
	}{
		{1, "invalid: analytics: unknown job \"no-such-job\"", []string{"analytics", "no-such-job"}},
		{1, "invalid", []string{"search", "(unclosed"}},
		{1, "limit 50000 is out of range", []string{"analytics", "top-words", "--limit", "50000"}},
		{1, "empty time range", []string{"analytics", "messages-per-room", "--since", "2026-02-01", "--until", "2026-01-01"}},
		{1, "forbidden", []string{"analytics", "messages-per-room", "--room", "dm.bob.carol"}},
		{2, "--since", []string{"analytics", "messages-per-room", "--since", "yesterday"}},
		{2, "name a job", []string{"analytics"}},
		{2, "no query", []string{"search"}},
	} {
		te := newTestEnv(t, vars)
		code := te.run(append(tc.args[:1:1], append([]string{"--ca", ca}, tc.args[1:]...)...)...)
		if code != tc.code || !strings.Contains(te.errOut.String(), tc.say) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", tc.args, code, te.errOut.String(), tc.code, tc.say)
		}
	}

	// Every room needs an administrator: alice claimed the first account,
	// so she is one; bob is not.
	bob := newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: "bob", envPassword: "pw"})
	if code := bob.run("analytics", "--ca", ca, "messages-per-room", "--all-rooms"); code != 1 || !strings.Contains(bob.errOut.String(), "forbidden") || !strings.Contains(bob.errOut.String(), "administrator") {
		t.Errorf("bob --all-rooms: exit %d, stderr %q; want exit 1, forbidden, administrator", code, bob.errOut.String())
	}
	te = run(0, "analytics", "messages-per-room", "--all-rooms", "--csv")
	if want := "key,value\ndev,2\ngeneral,2\n"; te.out.String() != want {
		t.Errorf("alice --all-rooms: %q, want %q", te.out.String(), want)
	}
}

// TestREPLStatsAndSearch runs /stats and /search at the prompt.
func TestREPLStatsAndSearch(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	ca := cl.CAFile()
	for _, s := range []struct{ user, room, text string }{
		{"bob", "general", "pizza for lunch"},
		{"bob", "general", "or sushi"},
		{"carol", "dev", "pizza in the dev room"},
	} {
		te := newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: s.user, envPassword: "pw"})
		if code := te.run("send", "--ca", ca, "--room", s.room, s.text); code != 0 {
			t.Fatalf("send: exit %d: %s", code, te.errOut.String())
		}
	}
	s := startREPL(t, map[string]string{envServer: cl.Addr(0), envUser: "alice", envPassword: "pw"}, "--ca", ca, "--room", "general")
	s.waitFor("-- general --")
	s.typeLine("/stats")
	s.waitFor("-- messages-per-user over general: 3 messages --", "  bob  2")
	s.typeLine("/search piz+a")
	s.waitFor("-- 2 messages match piz+a, newest first --", "dev#1 ", "<carol> pizza in the dev room", "general#1 ")
	s.typeLine("/stats no-such-job")
	s.waitFor("stats: invalid: analytics: unknown job")
	s.typeLine("/search (")
	s.waitFor("search: invalid: analytics search: query")
}
