package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) (home string) {
	t.Helper()
	home = t.TempDir()
	dir := filepath.Join(home, ".config", "parley")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.conf"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// Flags win over the environment, which wins over the config file, which
// wins over the defaults.
func TestConfigPrecedence(t *testing.T) {
	home := writeConfig(t, "server = 10.0.0.1:7400, 10.0.0.2:7400\nuser = carol\ntimeout = 3s\nca = /etc/parley/ca.pem\n")
	vars := map[string]string{"HOME": home, envPassword: "pw"}
	resolve := func(args ...string) settings {
		t.Helper()
		te := newTestEnv(t, vars)
		f := newFlagSet("x", "x")
		if err := f.parse(&te.env, args); err != nil {
			t.Fatal(err)
		}
		s, err := f.common.resolve(&te.env)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := resolve()
	if strings.Join(s.servers, " ") != "10.0.0.1:7400 10.0.0.2:7400" || s.user != "carol" || s.timeout != 3*time.Second || s.ca != "/etc/parley/ca.pem" {
		t.Fatalf("from the file: %+v", s)
	}
	vars[envUser], vars[envServer] = "dave", "10.9.9.9:7400"
	if s := resolve(); s.user != "dave" || s.servers[0] != "10.9.9.9:7400" {
		t.Fatalf("the environment should win over the file: %+v", s)
	}
	if s := resolve("--user", "erin", "--timeout", "9s", "--ca", "x.pem"); s.user != "erin" || s.timeout != 9*time.Second || s.ca != "x.pem" {
		t.Fatalf("flags should win: %+v", s)
	}
	delete(vars, "HOME")
	delete(vars, envUser)
	delete(vars, envServer)
	if s := resolve("--user", "u"); s.servers[0] != defaultServer || s.timeout != defaultTimeout {
		t.Fatalf("defaults without a file: %+v", s)
	}
}

// A mistake in the config file fails the command with the file and line.
func TestConfigErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"user = a\ncolour = never\n", `config.conf:2: unknown setting "colour"`},
		{"\ntimeout = soon\n", "config.conf:2: timeout = soon: want a positive duration"},
		{"color = blue\n", "config.conf:1: color = blue: want auto, always or never"},
	} {
		home := writeConfig(t, tc.text)
		te := newTestEnv(t, map[string]string{"HOME": home, envPassword: "pw"})
		if code := te.run("status", "--user", "u"); code == 0 || !strings.Contains(te.errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want %q", tc.text, code, te.errOut.String(), tc.want)
		}
	}
	te := newTestEnv(t, map[string]string{envConfig: "/nonexistent/parley.conf", envPassword: "pw"})
	if code := te.run("status", "--user", "u"); code == 0 || !strings.Contains(te.errOut.String(), "/nonexistent/parley.conf") {
		t.Errorf("a missing PARLEY_CONFIG file: exit %d, %q", code, te.errOut.String())
	}
}

func TestColorSetting(t *testing.T) {
	for _, tc := range []struct {
		color             string
		noColorSet, tty   bool
		wantNo, wantAsTTY bool
	}{
		{"auto", false, true, false, true},
		{"auto", false, false, false, false},
		{"never", false, true, true, true},
		{"always", false, false, false, true},
		{"always", true, true, true, true},
	} {
		c := &clientConfig{color: tc.color}
		if no, asTTY := c.colorWanted(tc.noColorSet, tc.tty); no != tc.wantNo || asTTY != tc.wantAsTTY {
			t.Errorf("%+v: got %v %v", tc, no, asTTY)
		}
	}
}
