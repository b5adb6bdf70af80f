package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/peterh/liner"
	"golang.org/x/term"
)

// Tunables of the REPL.
const (
	// defaultRoom is the room the REPL starts in.
	defaultRoom = "general"
	// joinBacklog is how many of a room's last messages entering it shows.
	joinBacklog = 10
	// pollEvery is how often the REPL lists rooms, to find new
	// direct-message rooms and refresh Tab's room names; it also saves the
	// state file and the input history then if they changed.
	pollEvery = 2 * time.Second
	// whoEvery is how many polls pass between two refreshes of the current
	// room's members, for Tab's user names.
	whoEvery = 5
	// sendQueue is how many typed lines may wait for their send.
	sendQueue = 64
)

// errQuit ends the REPL's loop: /quit or the end of input.
var errQuit = errors.New("quit")

// repl is one interactive session.
type repl struct {
	c     *client.Client
	set   settings
	scr   *screen
	v     *view
	comp  *completer
	seen  *seenState
	feeds *feeds
	src   lineSource
	ed    *editor // the same as src on a terminal, else nil

	out     chan outgoing
	sending sync.WaitGroup
	// bg counts the other goroutines of the session.
	bg sync.WaitGroup
	// readSent is, per room, the read marker last given to the cluster
	// (only the poll goroutine and /rooms touch it, under readMu).
	readMu   sync.Mutex
	readSent map[string]uint64
	// typing is who the last poll saw typing in the current room.
	typing []string
	// saveFailed is set once a failure to save the state file or the
	// input history was reported, so that it is reported once.
	saveFailed atomic.Bool
}

// runREPL implements "parley" with no command (or "parley repl"): the
// interactive chat.
//
// It joins --room (default general) and shows its last messages, then its
// live ones, and every direct message to the user. A typed line is sent to
// the current room; commands start with a slash (/help lists them). The
// prompt names the user and the current room: "alice@general> ".
//
// On a terminal (stdin and stdout both) lines are edited with liner:
// history (Up, Ctrl-R) kept across runs, Tab completion of commands, rooms
// and users, and messages that arrive while a line is typed appear above
// it without disturbing it (see screen and editor). User names get a
// colour unless NO_COLOR is set. Otherwise lines are read from stdin and
// output is plain, so the REPL can be scripted.
//
// When the node it is connected to is lost, the REPL says so in one line,
// and again when the SDK has reconnected; the SDK's subscriptions resume
// with no gap and no duplicate, and the view never shows a seq twice.
//
// Under the user's config directory (parley/, beside known_clusters) it
// keeps the input history ("history") and, per user and room, the last
// seq seen ("seen.json"), from which /rooms counts unread messages.
func runREPL(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("repl", "parley [--room ROOM] [flags]")
	room := f.String("room", defaultRoom, "the `room` to start in (joined if need be)")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q (commands are typed at the prompt; see /help)", f.Arg(0))
	}
	if f.common.json {
		return usagef("--json does not apply to the interactive chat")
	}
	// A "dumb" terminal gets plain lines: it would show the control
	// sequences of line editing as text.
	live := isTerminal(e.stdin) && isTerminal(e.stdout) && liner.TerminalSupported()
	conf, err := e.config()
	if err != nil {
		return err
	}
	_, noColorSet := os.LookupEnv("NO_COLOR")
	noColor, colorTTY := conf.colorWanted(noColorSet, isTerminal(e.stdout))
	scr := &screen{
		w:      e.stdout,
		live:   live,
		redraw: redrawPrompt,
		color:  chooseColor(noColor, colorTTY, os.Getenv("TERM"), os.Getenv("COLORTERM")),
	}
	r := &repl{scr: scr, comp: newCompleter(), out: make(chan outgoing, sendQueue)}
	var cp atomic.Pointer[client.Client]
	c, s, err := f.common.dial(ctx, e, func(st client.State) { r.onState(cp.Load(), st) })
	if err != nil {
		return interrupted(ctx, err)
	}
	cp.Store(c)
	defer c.Close()
	r.c, r.set = c, s
	return r.run(ctx, e, *room)
}

// replArgs reports whether a command line asks for the REPL: no
// arguments, or flags first (other than a request for help).
func replArgs(args []string) bool {
	if len(args) == 0 {
		return true
	}
	switch a := args[0]; a {
	case "-h", "-help", "--help":
		return false
	default:
		return strings.HasPrefix(a, "-")
	}
}

// runBareREPL runs the REPL for "parley" with no command and returns the
// exit status. A usage mistake when parley was run with no arguments at
// all, such as no user being set, is explained with the whole usage: the
// user may not know of the commands yet.
func runBareREPL(ctx context.Context, e *env, args []string) int {
	err := runREPL(ctx, e, args)
	var ue *usageError
	if len(args) == 0 && errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "parley: %s\n\n", ue.msg)
		printUsage(e.stderr)
		return 2
	}
	return exitStatus(e, "repl", err)
}

// isTerminal reports whether v is an *os.File on a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// run sets the session up, reads and runs lines until /quit, the end of
// input or ctx's end, and tears the session down.
func (r *repl) run(ctx context.Context, e *env, room string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir, dirErr := replConfigDir()
	seenPath, histPath := "", ""
	if dirErr == nil {
		seenPath, histPath = filepath.Join(dir, seenFile), filepath.Join(dir, historyFile)
	} else {
		r.scr.error(fmt.Sprintf("no state file or input history: %v", dirErr))
	}
	seen, err := loadSeen(seenPath, r.c.User())
	if err != nil {
		r.scr.error(err.Error())
	}
	r.seen = seen
	r.v = newView(r.c.User(), r.scr, r.seen, r.comp)
	r.feeds = newFeeds(ctx, r.c, r.v, r.scr)
	if r.scr.live {
		r.ed = newEditor(r.scr, r.comp, histPath)
		r.src = r.ed
	} else {
		r.src = newPlainSource(e.stdin)
	}

	n := r.c.Node()
	r.scr.info(fmt.Sprintf("connected to node %d as %s; /help lists the commands, /quit or Ctrl-D leaves", n.ID, r.c.User()))
	r.pollRooms(ctx)
	r.join(ctx, room)

	r.sending.Add(1)
	go r.sendLoop(ctx)
	r.background(func() { r.poll(ctx) })

	err = r.loop(ctx)

	// Let the lines already typed be sent, within the usual bound.
	close(r.out)
	r.sending.Wait()
	cancel()
	r.bg.Wait()
	r.feeds.close()
	r.save()
	if cerr := r.src.close(); cerr != nil && !r.saveFailed.Load() {
		r.scr.error(cerr.Error())
	}
	if errors.Is(err, errQuit) || ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// background runs f in a goroutine the session waits for at its end.
func (r *repl) background(f func()) {
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		f()
	}()
}

// loop reads and runs lines until one ends the session.
func (r *repl) loop(ctx context.Context) error {
	for {
		line, err := r.src.readLine(ctx, r.prompt())
		if errors.Is(err, io.EOF) {
			return errQuit
		}
		if err != nil {
			return err
		}
		if err := r.exec(ctx, line); err != nil {
			return err
		}
	}
}

// prompt is "alice@general> ", or "alice> " in no room.
func (r *repl) prompt() string {
	if room := r.v.room(); room != "" {
		return clean(r.c.User()) + "@" + clean(room) + "> "
	}
	return clean(r.c.User()) + "> "
}

// onState reports a lost and a regained connection, one line each.
func (r *repl) onState(c *client.Client, st client.State) {
	if c == nil {
		return
	}
	switch st {
	case client.Reconnecting:
		r.scr.info(fmt.Sprintf("connection to node %d lost; reconnecting…", c.Node().ID))
	case client.Reconnected:
		r.scr.info(fmt.Sprintf("reconnected to node %d", c.Node().ID))
	}
}

// poll lists the rooms every pollEvery, refreshes the current room's
// members every whoEvery polls, and saves the state file and the input
// history when they changed, until ctx ends.
func (r *repl) poll(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.syncRead(ctx)
		r.pollRooms(ctx)
		r.pollTyping(ctx)
		if tick%whoEvery == 0 {
			r.refreshWho(ctx, r.v.room())
		}
		r.save()
	}
}

// save writes the state file and the input history if they changed. The
// first failure is reported; the REPL goes on without them.
func (r *repl) save() {
	err := r.seen.save()
	if r.ed != nil {
		err = errors.Join(err, r.ed.saveHistory())
	}
	if err != nil && !r.saveFailed.Swap(true) {
		r.scr.error(err.Error())
	}
}
