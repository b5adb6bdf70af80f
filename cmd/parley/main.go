// Command parley is the command-line client of a Parley cluster.
//
// Usage:
//
//	parley [--room ROOM] [flags]
//	parley <command> [flags] [args]
//
// With no command (or only flags), parley is an interactive chat: see
// repl.go.
//
// The commands are send, tail, history, status, rooms, who, ca, analytics,
// search and admin; "parley help" lists
// them and "parley help <command>" (or "parley <command> -h") shows a
// command's flags. Flags may come before or after positional arguments;
// "--" ends them.
//
// Every command takes the common flags --server, --user, --ca, --json and
// --timeout; see common.go. The password comes from PARLEY_PASSWORD or is
// asked for on the terminal.
//
// Exit status: 0 on success (and when tail is interrupted), 1 when the
// cluster or the network fails the command, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/parleychat/parley/transport"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run parses the command's flags from args and runs it.
	run func(ctx context.Context, e *env, args []string) error
}

// commands lists the subcommands in the order usage shows them.
var commands = []command{
	{"send", "send a message (the arguments, or each line of stdin)", runSend},
	{"tail", "print a room's messages as they come, from a seq or from now", runTail},
	{"history", "print a room's last messages", runHistory},
	{"status", "print the cluster's nodes and shards", runStatus},
	{"rooms", "list the rooms with their members and last seq", runRooms},
	{"who", "list a room's members, online or not", runWho},
	{"ca", "print the cluster CA (PEM), for a browser to trust parleyd --https", runCA},
	{"analytics", "run an analytics job over the history ('analytics list' names them)", runAnalytics},
	{"search", "find messages matching a regular expression, newest first", runSearch},
	{"admin", "remove a node, make a user admin, change a setting, run accounts, invites and join tokens, export and import rooms", runAdmin},
	{"passwd", "change your password (logs out your other sessions)", runPasswd},
	{"logout", "logout --everywhere: log out every session of your account", runLogout},
	{"repl", "chat interactively (what plain 'parley' runs)", runREPL},
	{"version", "print the client's version, commit and Go version", runVersion},
	{"completion", "print a bash or zsh completion script (parley completion bash|zsh)", nil},
}

// init fills in the commands that refer to the list itself.
func init() {
	for i := range commands {
		if commands[i].name == "completion" {
			commands[i].run = runCompletion
		}
	}
}

// env is what a command may touch of the outside world, so that tests can
// replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// askPassword prompts for user's password without echo.
	askPassword func(user string) (string, error)
	// conf is the config file, loaded on first use (see env.config).
	conf *clientConfig
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the next one kills as usual.
	context.AfterFunc(ctx, stop)
	e := &env{
		stdin:       os.Stdin,
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		getenv:      os.Getenv,
		askPassword: askPassword,
	}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// Errors that choose the exit status.
var (
	// errHelp: help was asked for and printed.
	errHelp = errors.New("help requested")
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if replArgs(args) {
		return runBareREPL(ctx, e, args)
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if cmd := lookup(args[1]); cmd != nil {
				return exitStatus(e, cmd.name, cmd.run(ctx, e, []string{"-h"}))
			}
			fmt.Fprintf(e.stderr, "parley: unknown command %q\nRun 'parley help' for usage.\n", args[1])
			return 2
		}
		printUsage(e.stdout)
		return 0
	}
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(e.stderr, "parley: unknown command %q\nRun 'parley help' for usage.\n", name)
		return 2
	}
	return exitStatus(e, cmd.name, cmd.run(ctx, e, args[1:]))
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// exitStatus reports err on stderr and maps it to an exit status.
func exitStatus(e *env, cmd string, err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "parley %s: %s\nRun 'parley help %s' for usage.\n", cmd, ue.msg, cmd)
		return 2
	}
	var te *transport.Error
	switch {
	case errors.As(err, &te):
		fmt.Fprintf(e.stderr, "parley: %s: %s\n", te.Code, te.Message)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.stderr, "parley: interrupted")
	default:
		fmt.Fprintf(e.stderr, "parley: %v\n", err)
	}
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Parley is a fault-tolerant chat. parley is its command-line client.

Usage:

	parley [--room ROOM] [flags]    chat interactively (/help lists its commands)
	parley <command> [flags] [args]

Commands:

`)
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Common flags (before or after the arguments; -- ends them):

	--server ADDR[,ADDR...]  cluster node addresses (env PARLEY_SERVER; default: found by mDNS)
	--user NAME              user name (env PARLEY_USER; required)
	--ca FILE                pin this cluster CA instead of known_clusters
	--json                   print JSON lines
	--timeout DURATION       bound send, history and status (default `+defaultTimeout.String()+`)

The password is read from PARLEY_PASSWORD, else asked for on the terminal.
Settings may also come from ~/.config/parley/config.conf (or $PARLEY_CONFIG):
"server = ADDR", "user = NAME", "ca = FILE", "timeout = 15s" and
"color = auto|always|never", one per line. Flags win over the environment,
which wins over the file.

Run 'parley help <command>' for a command's flags.
`)
}
