package main

import (
	"strings"
	"testing"
)

func TestParseInput(t *testing.T) {
	cases := []struct {
		line string
		want input
	}{
		{"", input{kind: cmdNone}},
		{"   ", input{kind: cmdNone}},
		{"hello there ", input{kind: cmdSay, text: "hello there "}},
		{" /not a command", input{kind: cmdSay, text: " /not a command"}},
		{"//etc/passwd is a path", input{kind: cmdSay, text: "/etc/passwd is a path"}},
		{"/join random", input{kind: cmdJoin, arg: "random"}},
		{"/join   random  ", input{kind: cmdJoin, arg: "random"}},
		{"/leave", input{kind: cmdLeave}},
		{"/leave random", input{kind: cmdLeave, arg: "random"}},
		{"/rooms", input{kind: cmdRooms}},
		{"/who", input{kind: cmdWho}},
		{"/who general", input{kind: cmdWho, arg: "general"}},
		{"/history", input{kind: cmdHistory, n: defaultHistoryLines}},
		{"/history 5", input{kind: cmdHistory, n: 5}},
		{"/msg bob hi  there", input{kind: cmdMsg, arg: "bob", text: "hi  there"}},
		{"/status", input{kind: cmdStatus}},
		{"/stats", input{kind: cmdStats, arg: "messages-per-user"}},
		{"/stats top-words", input{kind: cmdStats, arg: "top-words"}},
		{"/search pizza|coffee  now", input{kind: cmdSearch, text: "pizza|coffee  now"}},
		{"/help", input{kind: cmdHelp}},
		{"/quit", input{kind: cmdQuit}},
	}
	for _, c := range cases {
		got, err := parseInput(c.line)
		if err != nil || got != c.want {
			t.Errorf("parseInput(%q) = %+v, %v; want %+v", c.line, got, err, c.want)
		}
	}
}

func TestParseInputMistakes(t *testing.T) {
	cases := map[string]string{
		"/frob":          "unknown command /frob",
		"/join":          "usage: /join ROOM",
		"/join a b":      "usage: /join ROOM",
		"/leave a b":     "usage: /leave [ROOM]",
		"/who a b":       "usage: /who [ROOM]",
		"/history x":     "usage: /history [N]",
		"/history 0":     "usage: /history [N]",
		"/history 99999": "usage: /history [N]",
		"/msg":           "usage: /msg USER TEXT",
		"/msg bob":       "usage: /msg USER TEXT",
		"/msg bob   ":    "usage: /msg USER TEXT",
		"/rooms extra":   "/rooms takes no argument",
		"/quit now":      "/quit takes no argument",
	}
	for line, want := range cases {
		_, err := parseInput(line)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseInput(%q) error %v, want %q", line, err, want)
		}
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	help := strings.Join(helpText(), "\n")
	for _, c := range replCommands {
		if !strings.Contains(help, "  "+c.name) {
			t.Errorf("/help lacks %s", c.name)
		}
	}
}

func TestReplArgs(t *testing.T) {
	cases := []struct {
		args []string
		want bool
	}{
		{nil, true},
		{[]string{"--room", "x"}, true},
		{[]string{"-user=alice"}, true},
		{[]string{"-h"}, false},
		{[]string{"--help"}, false},
		{[]string{"help"}, false},
		{[]string{"send", "--room", "x"}, false},
	}
	for _, c := range cases {
		if got := replArgs(c.args); got != c.want {
			t.Errorf("replArgs(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}

func TestREPLUsageErrors(t *testing.T) {
	te := newTestEnv(t, map[string]string{envUser: "alice", envPassword: "pw"})
	if code := te.run("--room", "x", "extra"); code != 2 || !strings.Contains(te.errOut.String(), `parley repl: unexpected argument "extra"`) {
		t.Fatalf("exit %d, stderr %q", code, te.errOut.String())
	}
	te = newTestEnv(t, nil)
	if code := te.run("--room", "x"); code != 2 || !strings.Contains(te.errOut.String(), "no user") {
		t.Fatalf("no user: exit %d, stderr %q", code, te.errOut.String())
	}
	te = newTestEnv(t, nil)
	if code := te.run("repl", "-h"); code != 0 || !strings.Contains(te.out.String(), "-room") {
		t.Fatalf("repl -h: exit %d, stdout %q", code, te.out.String())
	}
}
