package main

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func resolveArgs(t *testing.T, vars map[string]string, args ...string) (settings, *testEnv, error) {
	t.Helper()
	te := newTestEnv(t, vars)
	f := newFlagSet("status", "parley status")
	if err := f.parse(&te.env, args); err != nil {
		t.Fatal(err)
	}
	s, err := f.common.resolve(&te.env)
	return s, te, err
}

func TestResolveDefaults(t *testing.T) {
	s, te, err := resolveArgs(t, map[string]string{envUser: "alice", envPassword: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.servers, []string{defaultServer}) || s.user != "alice" || s.password != "pw" ||
		s.timeout != 15*time.Second || s.json || s.ca != "" {
		t.Fatalf("settings = %+v", s)
	}
	if te.asked != 0 {
		t.Fatal("prompted although PARLEY_PASSWORD is set")
	}
}

func TestResolveEnv(t *testing.T) {
	s, _, err := resolveArgs(t, map[string]string{
		envServer: "10.0.0.1:7400, 10.0.0.2:7400,", envUser: "bob", envPassword: "pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.servers, []string{"10.0.0.1:7400", "10.0.0.2:7400"}) || s.user != "bob" {
		t.Fatalf("settings = %+v", s)
	}
}

func TestResolveFlagsBeatEnv(t *testing.T) {
	s, _, err := resolveArgs(t,
		map[string]string{envServer: "10.0.0.1:7400", envUser: "bob", envPassword: "pw"},
		"--server", "a:1,b:2", "--user", "carol", "--ca", "ca.pem", "--json", "--timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	want := settings{servers: []string{"a:1", "b:2"}, user: "carol", password: "pw", ca: "ca.pem", json: true, timeout: 3 * time.Second}
	if !slices.Equal(s.servers, want.servers) || s.user != want.user || s.password != want.password ||
		s.ca != want.ca || s.json != want.json || s.timeout != want.timeout {
		t.Fatalf("settings = %+v, want %+v", s, want)
	}
}

func TestResolvePrompts(t *testing.T) {
	te := newTestEnv(t, map[string]string{envUser: "alice"})
	var askedFor string
	te.askPassword = func(user string) (string, error) {
		askedFor = user
		return "typed", nil
	}
	f := newFlagSet("status", "parley status")
	if err := f.parse(&te.env, nil); err != nil {
		t.Fatal(err)
	}
	s, err := f.common.resolve(&te.env)
	if err != nil {
		t.Fatal(err)
	}
	if s.password != "typed" || askedFor != "alice" {
		t.Fatalf("password %q asked for %q", s.password, askedFor)
	}
}

func TestResolveNoTerminal(t *testing.T) {
	_, _, err := resolveArgs(t, map[string]string{envUser: "alice"})
	if !errors.Is(err, errNoTerminal) {
		t.Fatalf("err = %v, want errNoTerminal", err)
	}
}
