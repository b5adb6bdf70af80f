package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
)

// replSession is a REPL running in this process with piped input and
// output: the mode parley uses when its output is not a terminal.
type replSession struct {
	t    *testing.T
	in   *io.PipeWriter
	out  lockedBuffer
	err  lockedBuffer
	done chan int
}

// startREPL runs "parley args..." with vars as its environment.
func startREPL(t *testing.T, vars map[string]string, args ...string) *replSession {
	t.Helper()
	pr, pw := io.Pipe()
	s := &replSession{t: t, in: pw, done: make(chan int, 1)}
	e := &env{
		stdin:       pr,
		stdout:      &s.out,
		stderr:      &s.err,
		getenv:      func(k string) string { return vars[k] },
		askPassword: func(string) (string, error) { return "", errNoTerminal },
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		pw.Close()
		<-s.done
	})
	return s
}

// typeLine writes line and a newline to the REPL's input.
func (s *replSession) typeLine(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("type %q: %v", line, err)
	}
}

// waitFor waits until the output has a line holding each of wants.
func (s *replSession) waitFor(wants ...string) {
	s.t.Helper()
	chatcoretest.WaitFor(s.t, 20*time.Second, func() error {
		for _, w := range wants {
			if s.count(w) == 0 {
				return fmt.Errorf("no line holds %q in:\n%s\nstderr: %s", w, s.out.String(), s.err.String())
			}
		}
		return nil
	})
}

// waitCount waits until n output lines hold text.
func (s *replSession) waitCount(text string, n int) {
	s.t.Helper()
	chatcoretest.WaitFor(s.t, 20*time.Second, func() error {
		if got := s.count(text); got != n {
			return fmt.Errorf("%d lines hold %q, want %d, in:\n%s", got, text, n, s.out.String())
		}
		return nil
	})
}

// count returns how many output lines hold text.
func (s *replSession) count(text string) int {
	n := 0
	for _, l := range lines(s.out.String()) {
		if strings.Contains(l, text) {
			n++
		}
	}
	return n
}

// TestREPLPlain runs the REPL's commands against a real one-node cluster,
// with piped input and output.
func TestREPLPlain(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	ca := cl.CAFile()
	vars := map[string]string{envServer: cl.Addr(0), envUser: "alice", envPassword: "pw"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bob, err := client.Dial(ctx, client.Options{Servers: []string{cl.Addr(0)}, User: "bob", Password: "pw", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if _, err := bob.Send(ctx, "general", "before alice came"); err != nil {
		t.Fatal(err)
	}

	s := startREPL(t, vars, "--ca", ca, "--timeout", "60s")
	s.waitFor("as alice; /help lists the commands, /quit or Ctrl-D leaves", "-- general --", "<bob> before alice came", "* alice joined")

	// Text goes to the current room; others' messages come in.
	s.typeLine("hello bob")
	if _, err := bob.Send(ctx, "general", "hi alice"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("<alice> hello bob", "<bob> hi alice")

	// Commands and their mistakes.
	s.typeLine("/who")
	s.waitFor("general: 1 member, 1 online", "  alice online")
	s.typeLine("/history 2")
	s.waitFor("-- the last 2 messages of general --")
	s.typeLine("/status")
	s.waitFor("up (connected)")
	s.typeLine("/bogus")
	s.waitFor("unknown command /bogus (/help lists them; // sends a line starting with /)")
	s.typeLine("/join Not-A-Room!")
	s.waitFor("join Not-A-Room!: invalid: ")
	s.typeLine("//slash")
	s.waitFor("<alice> /slash")

	// Direct messages, both ways: bob's is found by the rooms poll.
	s.typeLine("/msg bob psst")
	s.waitFor("[dm bob] <alice> psst")
	if _, err := bob.DirectMessage(ctx, "alice", "psst back"); err != nil {
		t.Fatal(err)
	}
	s.waitFor("[dm bob] <bob> psst back")

	// Another room: general's messages no longer show, and come back
	// once each when alice returns.
	s.typeLine("/join random")
	s.waitFor("-- random --")
	s.waitCount("* alice joined", 2)
	if _, err := bob.Send(ctx, "general", "while alice is away"); err != nil {
		t.Fatal(err)
	}
	s.typeLine("/rooms")
	s.waitFor("general       1        1       joined", "random        1        0       current, joined")
	if n := s.count("<bob> while alice is away"); n != 0 {
		t.Fatalf("a message of general shown while alice is in random")
	}
	s.typeLine("/join general")
	s.waitFor("<bob> while alice is away")
	// Each message once, but for the two /history showed again.
	shown := map[string]int{
		"<bob> before alice came":   1,
		"<bob> hi alice":            2,
		"<alice> hello bob":         2,
		"[dm bob] <bob> psst back":  1,
		"<bob> while alice is away": 1,
		"[dm bob] <alice> psst":     1,
		"* alice joined":            2,
	}
	for l, want := range shown {
		if n := s.count(l); n != want {
			t.Errorf("%q shown %d times, want %d:\n%s", l, n, want, s.out.String())
		}
	}

	// Leaving the current room leaves the user in none.
	s.typeLine("/leave")
	s.waitFor("you left general; /join a room to chat (/rooms lists them)")
	s.typeLine("anyone?")
	s.waitFor("you are in no room: /join ROOM first")

	s.typeLine("/quit")
	select {
	case code := <-s.done:
		s.done <- code
		if code != 0 {
			t.Fatalf("/quit: exit %d, stderr %q", code, s.err.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the REPL still runs after /quit")
	}

	// What alice saw is kept for /rooms' unread counts.
	seen, err := loadSeen(filepath.Join(cfg, "parley", seenFile), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if seen.get("general") < 5 || seen.get("dm.alice.bob") != 2 {
		t.Fatalf("state file: %v", seen.rooms)
	}
	if fi, err := os.Stat(filepath.Join(cfg, "parley", seenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}
}
