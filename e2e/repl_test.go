package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
)

// The terminal the REPL tests run parley in, and their bounds.
const (
	termCols = 120
	termRows = 30
	// screenTimeout bounds waiting for the screen to show something that
	// needs no failover.
	screenTimeout = 30 * time.Second
	// failoverTimeout bounds waiting for the REPL to notice a killed node
	// (the QUIC idle timeout is 6 s), reconnect and catch up.
	failoverTimeout = 90 * time.Second
)

// TestREPL drives the interactive parley, as a user would, in a real
// terminal: tmux runs the built binary in a detached session of fixed
// size; the test types with send-keys and reads the screen with
// capture-pane. On one cluster:
//
//   - typing_kept: a message from another user arrives while a line is
//     half typed; it appears above the prompt and the half line stays
//     intact, with the cursor where it was (also after moving it left);
//     Enter then sends the intact line;
//   - history_and_tab: a second session of the same user recalls the
//     first one's lines with Up, and Tab completes commands, rooms and users;
//   - node_killed: the node the REPL is connected to is killed -9; the REPL
//     says so in one line, reconnects, says so in one line, and the
//     messages sent meanwhile appear exactly once.
func TestREPL(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("the REPL test needs a real terminal: install tmux (apt-get install -y tmux): %v", err)
	}
	c := startCluster(t)
	alice := c.cli(t, "alice")
	var sent string
	t.Run("typing_kept", func(t *testing.T) { sent = replTypingKept(t, c, alice) })
	t.Run("history_and_tab", func(t *testing.T) { replHistoryAndTab(t, alice, sent) })
	t.Run("node_killed", func(t *testing.T) { replNodeKilled(t, c) })
}

// replTypingKept: see TestREPL. It returns the line alice sent, and ends
// the session with /quit.
func replTypingKept(t *testing.T, c *Cluster, alice cliEnv) string {
	room := "general"
	bob := c.Dial(t, "bob")
	tm := startTerm(t, alice)
	prompt := "alice@" + room + "> "
	tm.waitFor("the REPL's first prompt", screenTimeout, func(s screenState) error {
		if !s.contains("* alice joined") {
			return errors.New("no join notice yet")
		}
		return s.promptIs(prompt)
	})

	// Round 1: a message arrives while the cursor is at the end of a half
	// typed line.
	half := "the quick brown fox"
	tm.typeText(half)
	tm.waitFor("the half line", screenTimeout, func(s screenState) error {
		return s.editing(prompt, half, len(half))
	})
	send(t, bob, room, "first from bob")
	tm.waitFor("bob's message above the intact half line", screenTimeout, func(s screenState) error {
		if err := s.above("<bob> first from bob"); err != nil {
			return err
		}
		return s.editing(prompt, half, len(half))
	})

	// Round 2: the cursor is moved left first; it must stay there.
	const left = 4
	for range left {
		tm.keys("Left")
	}
	cur := len(half) - left
	tm.waitFor("the cursor moved left", screenTimeout, func(s screenState) error {
		return s.editing(prompt, half, cur)
	})
	send(t, bob, room, "second from bob")
	tm.waitFor("bob's second message above the intact half line", screenTimeout, func(s screenState) error {
		if err := s.above("<bob> second from bob"); err != nil {
			return err
		}
		return s.editing(prompt, half, cur)
	})
	// A character typed now lands where the cursor was.
	tm.typeText("X")
	line := half[:cur] + "X" + half[cur:]
	tm.waitFor("X typed at the kept cursor", screenTimeout, func(s screenState) error {
		return s.editing(prompt, line, cur+1)
	})

	// Enter sends the intact line.
	tm.keys("Enter")
	waitFor(t, screenTimeout, "alice's line in the room's history", func() error {
		ctx, cancel := opContext()
		defer cancel()
		msgs, err := bob.History(ctx, room, client.HistoryOptions{Last: 5})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.User == "alice" && m.Kind == "" {
				if m.Text != line {
					return permanent(fmt.Errorf("alice sent %q, want %q", m.Text, line))
				}
				return nil
			}
		}
		return errors.New("not there yet")
	})
	tm.waitFor("alice's line shown once, and a fresh prompt", screenTimeout, func(s screenState) error {
		for _, want := range []string{"<bob> first from bob", "<bob> second from bob", "<alice> " + line} {
			if n := s.count(want); n != 1 {
				return fmt.Errorf("%q shown %d times", want, n)
			}
		}
		return s.editing(prompt, "", 0)
	})
	tm.typeText("/quit")
	tm.keys("Enter")
	tm.waitExit()
	return line
}

// replHistoryAndTab: see TestREPL.
func replHistoryAndTab(t *testing.T, alice cliEnv, sent string) {
	if sent == "" {
		t.Fatal("typing_kept sent nothing")
	}
	tm := startTerm(t, alice)
	prompt := "alice@general> "
	tm.waitFor("the REPL's first prompt and the room's last messages", screenTimeout, func(s screenState) error {
		if !s.contains("<alice> " + sent) {
			return errors.New("the last messages are not shown yet")
		}
		return s.promptIs(prompt)
	})
	tm.keys("Up")
	tm.waitFor("the last line of the last session", screenTimeout, func(s screenState) error {
		return s.editing(prompt, "/quit", len("/quit"))
	})
	tm.keys("Up")
	tm.waitFor("the line sent in the last session", screenTimeout, func(s screenState) error {
		return s.editing(prompt, sent, len(sent))
	})
	tm.keys("C-u")
	steps := []struct{ typed, want string }{
		{"/jo", "/join "},         // a command
		{"gen", "/join general "}, // a room
	}
	for _, st := range steps {
		tm.typeText(st.typed)
		tm.keys("Tab")
		tm.waitFor("Tab after "+st.typed, screenTimeout, func(s screenState) error {
			return s.editing(prompt, st.want, len(st.want))
		})
	}
	tm.keys("C-u")
	// bob is known from his messages on the screen.
	tm.typeText("hi b")
	tm.keys("Tab")
	tm.waitFor("Tab completing a user", screenTimeout, func(s screenState) error {
		return s.editing(prompt, "hi bob ", len("hi bob "))
	})
	tm.keys("C-u")
	tm.typeText("/quit")
	tm.keys("Enter")
	tm.waitExit()
}

// replNodeKilled: see TestREPL.
func replNodeKilled(t *testing.T, c *Cluster) {
	room := uniq("failover")
	tm := startTerm(t, c.cli(t, "alice"), "--room", room)
	prompt := "alice@" + room + "> "
	var victim *Node
	tm.waitFor("the REPL's first prompt", screenTimeout, func(s screenState) error {
		m := regexp.MustCompile(`connected to node (\d+) as alice`).FindStringSubmatch(strings.Join(s.all, "\n"))
		if m == nil {
			return errors.New(`no "connected to node N" line yet`)
		}
		id, _ := strconv.ParseUint(m[1], 10, 64)
		if victim = c.NodeByID(id); victim == nil {
			return permanent(fmt.Errorf("the REPL is connected to node %d, which is not in the cluster", id))
		}
		if !s.contains("* alice joined") {
			return errors.New("no join notice yet")
		}
		return s.promptIs(prompt)
	})
	// The other user talks through a node that stays up.
	carol := c.Dial(t, "carol", c.Others(victim)[0].Client)
	send(t, carol, room, "before the kill")
	tm.waitFor("the message before the kill", screenTimeout, func(s screenState) error {
		return s.above("<carol> before the kill")
	})

	c.Kill(t, victim)
	const during = 5
	for i := range during {
		send(t, carol, room, fmt.Sprintf("during the outage %d", i))
	}
	lost := fmt.Sprintf("connection to node %d lost; reconnecting…", victim.ID())
	reconnected := regexp.MustCompile(`^reconnected to node (\d+)$`)
	tm.waitFor("one lost line, one reconnected line, every message once", failoverTimeout, func(s screenState) error {
		if n := s.count(lost); n != 1 {
			return fmt.Errorf("%q shown %d times", lost, n)
		}
		var again []string
		for _, l := range s.all {
			if m := reconnected.FindStringSubmatch(l); m != nil {
				again = append(again, m[1])
			}
		}
		if len(again) != 1 {
			return fmt.Errorf("reconnected lines: %q, want one", again)
		}
		if again[0] == strconv.FormatUint(victim.ID(), 10) {
			return permanent(fmt.Errorf("reconnected to the killed node %s", again[0]))
		}
		for _, want := range []string{"<carol> before the kill"} {
			if n := s.count(want); n != 1 {
				return fmt.Errorf("%q shown %d times", want, n)
			}
		}
		for i := range during {
			if n := s.count(fmt.Sprintf("<carol> during the outage %d", i)); n != 1 {
				return fmt.Errorf("outage message %d shown %d times", i, n)
			}
		}
		return s.promptIs(prompt)
	})

	// The conversation goes on, both ways.
	tm.typeText("back again")
	tm.keys("Enter")
	send(t, carol, room, "welcome back")
	tm.waitFor("the conversation after the failover", screenTimeout, func(s screenState) error {
		for _, want := range []string{"<alice> back again", "<carol> welcome back"} {
			if n := s.count(want); n != 1 {
				return fmt.Errorf("%q shown %d times", want, n)
			}
		}
		return s.editing(prompt, "", 0)
	})
}

// send sends text to room as cl's user and fails the test if it is not
// acknowledged.
func send(t *testing.T, cl *client.Client, room, text string) {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	if _, err := cl.Send(ctx, room, text); err != nil {
		t.Fatalf("send %q to %s: %v", text, room, err)
	}
}

// term is a detached tmux session, on a tmux server of its own, running
// parley in a pane of termCols × termRows.
type term struct {
	t        *testing.T
	sock     string
	sockPath string // the tmux server's socket file
	pid      int    // parley's
}

// startTerm starts parley with args in env's environment in a new tmux
// server. When the test ends it kills that server and waits until parley
// is gone (before the test's temporary directories, parley's config
// directory among them, are removed). The pane stays after parley exits,
// so that its last screen can be read.
func startTerm(t *testing.T, env cliEnv, args ...string) *term {
	t.Helper()
	tm := &term{t: t, sock: uniq("parley-e2e")}
	cmd := []string{"new-session", "-d", "-x", strconv.Itoa(termCols), "-y", strconv.Itoa(termRows), "-s", "repl"}
	for _, kv := range env.environ() {
		if strings.HasPrefix(kv, "PARLEY_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd = append(cmd, "-e", kv)
		}
	}
	cmd = append(cmd, parleyBin)
	cmd = append(cmd, args...)
	cmd = append(cmd, ";", "set-option", "-t", "repl", "remain-on-exit", "on")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- the REPL's terminal:\n%s", strings.Join(tm.capture(true), "\n"))
		}
		tm.tmux("kill-server")
		if tm.sockPath != "" {
			os.Remove(tm.sockPath) // tmux may leave it behind
		}
		if tm.pid == 0 {
			return
		}
		// The hang-up ends parley; a stuck one is killed.
		if err := poll(10*time.Second, func() error {
			if pidAlive(tm.pid) {
				return errors.New("parley still runs")
			}
			return nil
		}); err != nil {
			syscall.Kill(tm.pid, syscall.SIGKILL)
		}
	})
	if out, err := tm.tmux(cmd...); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	out, err := tm.tmux("display-message", "-p", "-t", "repl", "#{pane_pid} #{socket_path}")
	if err != nil {
		t.Fatalf("tmux display-message: %v\n%s", err, out)
	}
	pid, path, _ := strings.Cut(strings.TrimSpace(out), " ")
	tm.sockPath = path
	if tm.pid, err = strconv.Atoi(pid); err != nil {
		t.Fatalf("parley's pid %q: %v", out, err)
	}
	return tm
}

// waitExit waits until parley has exited. (Its exit status is not
// checked: tmux does not always learn it.)
func (tm *term) waitExit() {
	tm.t.Helper()
	waitFor(tm.t, screenTimeout, "parley's exit", func() error {
		out, err := tm.tmux("display-message", "-p", "-t", "repl", "#{pane_dead}")
		if err != nil {
			return fmt.Errorf("tmux display-message: %v: %s", err, out)
		}
		if strings.TrimSpace(out) != "1" {
			return errors.New("parley still runs")
		}
		return nil
	})
}

// tmux runs a tmux command on the test's server.
func (tm *term) tmux(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "tmux", append([]string{"-L", tm.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// keys presses keys named as tmux names them (Enter, Left, C-u...).
func (tm *term) keys(keys ...string) {
	tm.t.Helper()
	if out, err := tm.tmux(append([]string{"send-keys", "-t", "repl"}, keys...)...); err != nil {
		tm.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// typeText types text literally.
func (tm *term) typeText(text string) {
	tm.t.Helper()
	if out, err := tm.tmux("send-keys", "-t", "repl", "-l", text); err != nil {
		tm.t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
}

// capture returns the pane's rows without trailing blanks: the visible
// ones, or with scrollback the whole history too.
func (tm *term) capture(scrollback bool) []string {
	args := []string{"capture-pane", "-p", "-t", "repl"}
	if scrollback {
		args = append(args, "-S", "-")
	}
	out, err := tm.tmux(args...)
	if err != nil {
		return []string{fmt.Sprintf("(capture-pane: %v: %s)", err, out)}
	}
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, r := range rows {
		rows[i] = strings.TrimRight(r, " ")
	}
	return rows
}

// screenState is one reading of the terminal.
type screenState struct {
	visible []string // the visible rows
	all     []string // scrollback and visible rows
	x, y    int      // the cursor, in the visible rows
}

// read reads the screen and the cursor.
func (tm *term) read() (screenState, error) {
	out, err := tm.tmux("display-message", "-p", "-t", "repl", "#{cursor_x} #{cursor_y} #{pane_dead}")
	if err != nil {
		return screenState{}, fmt.Errorf("tmux display-message: %v: %s", err, out)
	}
	var s screenState
	var dead int
	if _, err := fmt.Sscan(out, &s.x, &s.y, &dead); err != nil {
		return s, fmt.Errorf("cursor %q: %w", out, err)
	}
	s.visible, s.all = tm.capture(false), tm.capture(true)
	if dead == 1 {
		return s, permanent(errors.New("parley exited"))
	}
	return s, nil
}

// waitFor polls the screen until check accepts it, and fails the test
// after timeout with the last complaint and the screen.
func (tm *term) waitFor(what string, timeout time.Duration, check func(screenState) error) {
	tm.t.Helper()
	var last screenState
	err := poll(timeout, func() error {
		s, err := tm.read()
		last = s
		if err != nil {
			return err
		}
		return check(s)
	})
	if err != nil {
		tm.t.Fatalf("%s: %v\nscreen (cursor at column %d, row %d):\n%s", what, err, last.x, last.y, strings.Join(last.visible, "\n"))
	}
}

// promptRow returns the index of the last visible row that is not blank.
func (s screenState) promptRow() int {
	for i := len(s.visible) - 1; i >= 0; i-- {
		if s.visible[i] != "" {
			return i
		}
	}
	return -1
}

// promptIs checks that the last row is prompt with nothing typed.
func (s screenState) promptIs(prompt string) error {
	return s.editing(prompt, "", 0)
}

// editing checks that the last row holds prompt and line, and the cursor
// stands on it after pos characters of line.
func (s screenState) editing(prompt, line string, pos int) error {
	i := s.promptRow()
	if i < 0 {
		return errors.New("blank screen")
	}
	want := strings.TrimRight(prompt+line, " ")
	if s.visible[i] != want {
		return fmt.Errorf("last row %q, want %q", s.visible[i], want)
	}
	if s.y != i || s.x != len(prompt)+pos {
		return fmt.Errorf("cursor at column %d row %d, want column %d row %d", s.x, s.y, len(prompt)+pos, i)
	}
	return nil
}

// above checks that some visible row above the prompt row ends with text.
func (s screenState) above(text string) error {
	i := s.promptRow()
	for j := 0; j < i; j++ {
		if strings.HasSuffix(s.visible[j], text) {
			return nil
		}
	}
	return fmt.Errorf("no row above the prompt ends with %q", text)
}

// contains reports whether some row of the whole history ends with text.
func (s screenState) contains(text string) bool { return s.count(text) > 0 }

// count returns how many rows of the whole history end with text.
func (s screenState) count(text string) int {
	n := 0
	for _, r := range s.all {
		if strings.HasSuffix(r, text) {
			n++
		}
	}
	return n
}
