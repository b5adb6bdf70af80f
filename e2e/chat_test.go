package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
)

// Keys of the JSON lines of parley rooms and parley who.
var (
	roomKeys   = []string{"dm", "joined", "last_seq", "members", "name", "unread"}
	memberKeys = []string{"online", "user"}
)

// presenceTimeout bounds how long a user may still show online after its
// session ended: "within a few seconds" (the merged view is a second old at
// most and a dead node is given a second to answer), with room to spare on
// a busy machine.
const presenceTimeout = 15 * time.Second

// TestChatCLI drives rooms, membership, direct messages and presence
// through the built parley binary on the shared cluster.
func TestChatCLI(t *testing.T) {
	c := sharedCluster(t)
	alice, bob, carol := uniq("alice"), uniq("bob"), uniq("carol")
	dm := parley.DMRoom(alice, bob)
	room := uniq("chat")
	sdkAlice := c.Dial(t, alice)
	ctx, cancel := opContext()
	defer cancel()
	secret, err := sdkAlice.DirectMessage(ctx, bob, "the plan")
	if err != nil {
		t.Fatal(err)
	}
	if err := sdkAlice.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	chat, err := c.Dial(t, bob).Send(ctx, room, "hello")
	if err != nil {
		t.Fatal(err)
	}
	aliceEnv, bobEnv, carolEnv := c.cli(t, alice), c.cli(t, bob), c.cli(t, carol)

	t.Run("dm_forbidden", func(t *testing.T) {
		for _, args := range [][]string{
			{"tail", "--room", dm},
			{"tail", "--room", dm, "--from", "1"},
			{"history", "--room", dm},
			{"send", "--room", dm, "let me in"},
			{"who", "--room", dm},
		} {
			r := carolEnv.run(t, "", args...)
			if r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
				t.Errorf("parley %s as a third user: exit %d, stderr %q; want a non-zero exit and forbidden",
					strings.Join(args, " "), r.code, r.stderr)
			}
		}
		r := bobEnv.mustRun(t, "", "history", "--room", dm, "--json")
		lines := splitLines(r.stdout)
		if len(lines) != 1 {
			t.Fatalf("bob's history of %s: %q", dm, r.stdout)
		}
		checkMessageLine(t, lines[0], parley.Message{Room: dm, Seq: secret.Seq, ID: secret.ID, User: alice, TS: secret.TS, Text: "the plan"})
	})

	t.Run("rooms", func(t *testing.T) {
		want := map[string]roomLine{
			// bob's hello is after alice's read marker (her join); her
			// own direct message is not.
			room: {Name: room, Members: 1, LastSeq: chat.Seq, Joined: true, Unread: 1},
			dm:   {Name: dm, Members: 2, LastSeq: secret.Seq, Joined: true, DM: true},
		}
		// Each node answers from its own replicas: poll until the one
		// asked has caught up.
		waitFor(t, settleTimeout, "alice's rooms", func() error {
			got := roomLines(t, aliceEnv.mustRun(t, "", "rooms", "--json").stdout)
			for name, w := range want {
				if got[name] != w {
					return fmt.Errorf("%s: %+v, want %+v", name, got[name], w)
				}
			}
			return nil
		})
		got := roomLines(t, carolEnv.mustRun(t, "", "rooms", "--json").stdout)
		if _, ok := got[dm]; ok {
			t.Errorf("a third user's rooms list the DM of alice and bob")
		}
		if r, ok := got[room]; ok && r.Joined {
			t.Errorf("carol counts as a member of %s: %+v", room, r)
		}
		out := splitLines(aliceEnv.mustRun(t, "", "rooms").stdout)
		if len(out) < 3 || strings.Fields(out[0])[0] != "NAME" || !slices.Equal(strings.Fields(out[0]), []string{"NAME", "MEMBERS", "LAST", "JOINED", "UNREAD"}) {
			t.Fatalf("rooms table:\n%s", strings.Join(out, "\n"))
		}
		wantRow := []string{room, "1", strconv.FormatUint(chat.Seq, 10), "yes", "1"}
		if !slices.ContainsFunc(out[1:], func(l string) bool { return slices.Equal(strings.Fields(l), wantRow) }) {
			t.Errorf("rooms table has no row %q:\n%s", wantRow, strings.Join(out, "\n"))
		}
	})

	t.Run("who", func(t *testing.T) {
		sdkCarol := c.Dial(t, carol)
		if err := sdkCarol.Join(ctx, room); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{alice: true, carol: true}
		check := func() error {
			got := make(map[string]bool)
			for _, l := range splitLines(bobEnv.mustRun(t, "", "who", "--room", room, "--json").stdout) {
				jsonObject(t, l, memberKeys, nil)
				var m struct {
					User   string `json:"user"`
					Online bool   `json:"online"`
				}
				decode(t, l, &m)
				got[m.User] = m.Online
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Errorf("who of %s: %v, want %v", room, got, want)
			}
			return nil
		}
		waitFor(t, settleTimeout, "alice and carol online", check)
		sdkCarol.Close()
		closed := time.Now()
		want[carol] = false
		waitFor(t, presenceTimeout, "carol offline", check)
		t.Logf("carol offline %v after her client closed", time.Since(closed).Round(time.Millisecond))
		// Each node caches the merged presence view for a second, and this
		// CLI run may reach another node than the last: poll.
		waitFor(t, presenceTimeout, "carol offline in the plain listing", func() error {
			plain := splitLines(bobEnv.mustRun(t, "", "who", "--room", room).stdout)
			if !slices.Equal(plain, []string{alice + " online", carol + " offline"}) {
				return fmt.Errorf("who, plain:\n%s", strings.Join(plain, "\n"))
			}
			return nil
		})
	})

	t.Run("notices_json", func(t *testing.T) {
		lines := splitLines(bobEnv.mustRun(t, "", "history", "--room", room, "--json").stdout)
		if len(lines) < 2 {
			t.Fatalf("history of %s: %q", room, lines)
		}
		jsonObject(t, lines[0], append(slices.Clone(messageKeys), "kind"), nil)
		var notice struct {
			User, Text, Kind string
		}
		decode(t, lines[0], &notice)
		if notice.User != alice || notice.Kind != "join" || notice.Text != alice+" joined" {
			t.Errorf("first line %s, want alice's join notice", lines[0])
		}
		// A chat message has no kind.
		jsonObject(t, lines[1], messageKeys, nil)
	})
}

// roomLine is one JSON line of parley rooms.
type roomLine struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
	LastSeq uint64 `json:"last_seq"`
	Joined  bool   `json:"joined"`
	DM      bool   `json:"dm"`
	Unread  uint64 `json:"unread"`
}

// roomLines parses the output of parley rooms --json, by room name.
func roomLines(t *testing.T, out string) map[string]roomLine {
	t.Helper()
	rooms := make(map[string]roomLine)
	for _, l := range splitLines(out) {
		jsonObject(t, l, roomKeys, nil)
		var r roomLine
		decode(t, l, &r)
		rooms[r.Name] = r
	}
	return rooms
}

// TestChatNodeKilled kills -9 the node a user or a bot is connected to, on
// one cluster:
//
//   - presence_node_killed: a user whose only session is on the killed
//     node shows offline within seconds on the others;
//   - statsbot_node_killed: the example bot keeps answering "!stats", and
//     each of its answers is committed exactly once.
func TestChatNodeKilled(t *testing.T) {
	c := startCluster(t)
	t.Run("presence_node_killed", func(t *testing.T) { presenceNodeKilled(t, c) })
	t.Run("statsbot_node_killed", func(t *testing.T) { statsbotNodeKilled(t, c) })
}

// whoOn returns who of room's members are online, as node n sees it.
func (c *Cluster) whoOn(ctx context.Context, n *Node, room string) (map[string]bool, error) {
	out := make(map[string]bool)
	err := c.Probes.On(ctx, n, func(cl *client.Client) error {
		ms, err := cl.Who(ctx, room)
		for _, m := range ms {
			out[m.User] = m.Online
		}
		return err
	})
	return out, err
}

// presenceNodeKilled holds a user's only session on one node with a raw
// connection, which cannot fail over, kills that node and waits until the
// other nodes show the user offline.
func presenceNodeKilled(t *testing.T, c *Cluster) {
	const user, room = "ghost", "presence"
	victim, watchers := c.Nodes[2], c.Nodes[:2]
	ctx, cancel := opContext()
	defer cancel()
	cl := c.Dial(t, user)
	if err := cl.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	raw := dialRaw(t, c, victim.Client)
	raw.hello(t, user)
	online := func(want bool) func() error {
		return func() error {
			ctx, cancel := opContext()
			defer cancel()
			for _, n := range watchers {
				on, err := c.whoOn(ctx, n, room)
				if err != nil {
					return err
				}
				if got, member := on[user]; !member || got != want {
					return fmt.Errorf("%s: who of %s: %v, want %s online=%v", n.Name, room, on, user, want)
				}
			}
			return nil
		}
	}
	waitFor(t, settleTimeout, user+" online", online(true))
	c.Kill(t, victim)
	killed := time.Now()
	waitFor(t, presenceTimeout, user+" offline", online(false))
	t.Logf("%s offline on %s %v after %s was killed", user, nodeNames(watchers), time.Since(killed).Round(time.Millisecond), victim.Name)
	c.Restart(t, victim)
	c.WaitFormed(t)
}

// botReply matches the bot's line for an acknowledged answer.
var botReply = regexp.MustCompile(`^replied (\S+)#(\d+) ([0-9A-Z]{26})$`)

// statsbotNodeKilled runs examples/statsbot connected to one node, asks
// "!stats" before, while and after that node is killed -9, and checks that
// every question got one answer and that every answer the bot had
// acknowledged is committed once, at its seq, on every node.
func statsbotNodeKilled(t *testing.T, c *Cluster) {
	const room = "stats"
	victim := c.Nodes[1]
	env := c.cli(t, "statsbot")
	cmd := exec.Command(statsbotBin, "--server", victim.Client, "--user", "statsbot", "--room", room)
	cmd.Env = env.environ()
	bot := startLines(t, "statsbot", cmd)
	if l := bot.nextWithin(t, 2*opTimeout); l != "ready "+room {
		t.Fatalf("statsbot's first line %q, want %q", l, "ready "+room)
	}
	asker := c.Dial(t, "asker")
	var replies []string
	ask := func(kill bool) {
		t.Helper()
		ctx, cancel := opContext()
		defer cancel()
		if _, err := asker.Send(ctx, room, "!stats"); err != nil {
			t.Fatal(err)
		}
		if kill {
			// The answer is on its way, or about to be, when its node dies.
			c.Kill(t, victim)
		}
		l := bot.nextWithin(t, 3*opTimeout)
		if !botReply.MatchString(l) {
			t.Fatalf("statsbot printed %q, want a reply line", l)
		}
		replies = append(replies, l)
	}
	ask(false)
	ask(true)
	for range 3 {
		ask(false)
	}
	c.Restart(t, victim)
	c.WaitFormed(t)
	ask(false)
	if code, rest := bot.interrupt(t); code != 0 || len(rest) != 0 {
		t.Fatalf("statsbot after SIGINT: exit %d, more output %q; stderr:\n%s", code, rest, bot.stderr.String())
	}
	if !strings.Contains(bot.stderr.String(), "connection reconnected") {
		t.Errorf("statsbot never reconnected: was it on %s? stderr:\n%s", victim.Name, bot.stderr.String())
	}

	var hist []parley.Message
	waitFor(t, settleTimeout, "histories of "+room+" agree", func() error {
		h, err := agreedHistory(c, c.Nodes, room)
		hist = h
		return err
	})
	byID := make(map[string]parley.Message)
	questions, answers := 0, 0
	for _, m := range hist {
		byID[m.ID.String()] = m
		switch {
		case m.User == "asker" && m.Text == "!stats":
			questions++
		case m.User == "statsbot" && m.Kind == "":
			answers++
		}
	}
	for _, l := range replies {
		f := botReply.FindStringSubmatch(l)
		m, ok := byID[f[3]]
		if f[1] != room || !ok || strconv.FormatUint(m.Seq, 10) != f[2] || m.User != "statsbot" || !strings.HasPrefix(m.Text, "stats: ") {
			t.Errorf("statsbot acknowledged %q; the room holds %s", l, describe(m))
		}
	}
	if questions != len(replies) || answers != len(replies) {
		t.Errorf("%d questions, %d answers in the room, %d acknowledged by the bot; want all equal", questions, answers, len(replies))
	}
	t.Logf("room %s: %d messages, identical on every node; %d answers, each once", room, len(hist), answers)
}

// startLines starts cmd with its stdout read line by line, like
// cliEnv.start, and kills it when the test ends.
func startLines(t *testing.T, name string, cmd *exec.Cmd) *lineReader {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lr := &lineReader{lines: make(chan string, 1024)}
	cmd.Stderr = &lr.stderr
	p, err := proc.Run(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	lr.p = p
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("--- %s stderr:\n%s", name, lr.stderr.String())
		}
	})
	go func() {
		defer close(lr.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
	}()
	return lr
}
