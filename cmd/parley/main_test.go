package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parleychat/parley/transport"
)

// testEnv is an env with buffers, a fixed environment and a password
// prompt that fails the test if called unexpectedly.
type testEnv struct {
	env
	out, errOut bytes.Buffer
	vars        map[string]string
	asked       int
}

func newTestEnv(t *testing.T, vars map[string]string) *testEnv {
	te := &testEnv{vars: vars}
	te.env = env{
		stdin:  strings.NewReader(""),
		stdout: &te.out,
		stderr: &te.errOut,
		getenv: func(k string) string { return te.vars[k] },
		askPassword: func(string) (string, error) {
			te.asked++
			return "", errNoTerminal
		},
	}
	return te
}

func (te *testEnv) run(args ...string) int {
	return run(context.Background(), &te.env, args)
}

func TestNoCommandPrintsUsage(t *testing.T) {
	te := newTestEnv(t, nil)
	if code := te.run(); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, c := range []string{"send", "tail", "history", "status"} {
		if !strings.Contains(te.errOut.String(), "\t"+c) {
			t.Errorf("usage does not list %s:\n%s", c, te.errOut.String())
		}
	}
	if te.out.Len() != 0 {
		t.Errorf("usage error wrote to stdout: %q", te.out.String())
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		te := newTestEnv(t, nil)
		if code := te.run(args...); code != 0 {
			t.Fatalf("%v: exit %d, want 0", args, code)
		}
		if !strings.Contains(te.out.String(), "Commands:") || te.errOut.Len() != 0 {
			t.Fatalf("%v: stdout %q stderr %q", args, te.out.String(), te.errOut.String())
		}
	}
}

func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "send"}, {"send", "-h"}, {"send", "--help"}} {
		te := newTestEnv(t, nil)
		if code := te.run(args...); code != 0 {
			t.Fatalf("%v: exit %d, want 0 (stderr %q)", args, code, te.errOut.String())
		}
		out := te.out.String()
		for _, want := range []string{"parley send --room ROOM", "-room", "-server", "-user", "-ca", "-json", "-timeout", "PARLEY_SERVER"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q:\n%s", args, want, out)
			}
		}
	}
	// "admin -h" prints the admin usage once; "admin export -h" the
	// export and import flags.
	for args, want := range map[[2]string]string{{"admin", "-h"}: "parley admin remove-node", {"admin", "export"}: "parley admin export"} {
		te := newTestEnv(t, nil)
		argv := args[:]
		if args[1] == "export" {
			argv = append(argv, "-h")
		}
		code := te.run(argv...)
		if out := te.out.String() + te.errOut.String(); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "Usage: "+want) || strings.Count(out, "Usage:") != 1 {
			t.Errorf("%v: exit %d, help %q", argv, code, out)
		}
	}
	for _, cmd := range []string{"tail", "history", "status"} {
		te := newTestEnv(t, nil)
		if code := te.run(cmd, "-h"); code != 0 || !strings.Contains(te.out.String(), "parley "+cmd) {
			t.Errorf("%s -h: exit %d, stdout %q", cmd, code, te.out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	vars := map[string]string{envUser: "alice", envPassword: "pw"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"send", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"send", "hello"}, "--room is required"},
		{[]string{"send", "--room", "general", " "}, "empty message"},
		{[]string{"tail"}, "--room is required"},
		{[]string{"tail", "--room", "r", "--from", "-1"}, "invalid value"},
		{[]string{"tail", "--room", "r", "extra"}, `unexpected argument "extra"`},
		{[]string{"history", "--room", "r", "--last", "0"}, "--last must be positive"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"status", "--server", " , "}, "--server: no address"},
	}
	for _, c := range cases {
		te := newTestEnv(t, vars)
		code := te.run(c.args...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", c.args, code, te.errOut.String())
			continue
		}
		if !strings.Contains(te.errOut.String(), c.want) {
			t.Errorf("%q: stderr %q lacks %q", c.args, te.errOut.String(), c.want)
		}
	}
}

func TestMissingUser(t *testing.T) {
	te := newTestEnv(t, map[string]string{envPassword: "pw"})
	if code := te.run("status"); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(te.errOut.String(), "--user") || !strings.Contains(te.errOut.String(), envUser) {
		t.Fatalf("stderr %q does not say how to give the user", te.errOut.String())
	}
	if te.asked != 0 {
		t.Fatal("asked for a password before knowing the user")
	}
}

func TestMissingPasswordWithoutTerminal(t *testing.T) {
	te := newTestEnv(t, map[string]string{envUser: "alice"})
	if code := te.run("status"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if te.asked != 1 || !strings.Contains(te.errOut.String(), envPassword) {
		t.Fatalf("asked %d times; stderr %q should say to set %s", te.asked, te.errOut.String(), envPassword)
	}
}

func TestExitStatus(t *testing.T) {
	cases := []struct {
		err  error
		code int
		want string
	}{
		{nil, 0, ""},
		{errHelp, 0, ""},
		{usagef("bad"), 2, "parley send: bad\n"},
		{fmt.Errorf("send: %w", &transport.Error{Code: transport.CodeUnavailable, Message: "no quorum", RetryMillis: 5}), 1, "parley: unavailable: no quorum\n"},
		{fmt.Errorf("hello x: %w", transport.Errorf(transport.CodeUnauthorized, "wrong password")), 1, "parley: unauthorized: wrong password\n"},
		{fmt.Errorf("send: %w", context.Canceled), 1, "parley: interrupted\n"},
		{errors.New("dial: no server reachable"), 1, "parley: dial: no server reachable\n"},
	}
	for _, c := range cases {
		te := newTestEnv(t, nil)
		if code := exitStatus(&te.env, "send", c.err); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.err, code, c.code)
		}
		if got := te.errOut.String(); !strings.HasPrefix(got, c.want) || c.want == "" && got != "" {
			t.Errorf("%v: stderr %q, want prefix %q", c.err, got, c.want)
		}
	}
}
