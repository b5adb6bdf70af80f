package main

import (
	"fmt"
	"strconv"
	"strings"
)

// cmdKind is what a line typed at the REPL asks for.
type cmdKind int

// The kinds of input lines.
const (
	cmdNone    cmdKind = iota // blank: nothing to do
	cmdSay                    // text for the current room
	cmdJoin                   // /join ROOM
	cmdLeave                  // /leave [ROOM]
	cmdRooms                  // /rooms
	cmdWho                    // /who [ROOM]
	cmdHistory                // /history [N]
	cmdMsg                    // /msg USER TEXT
	cmdStatus                 // /status
	cmdStats                  // /stats [JOB]
	cmdSearch                 // /search REGEXP
	cmdHelp                   // /help
	cmdQuit                   // /quit
)

// replCommand is one command of the REPL, for /help and completion.
type replCommand struct {
	name    string // with its slash
	kind    cmdKind
	args    string // argument synopsis
	summary string
}

// replCommands lists the commands in the order /help shows them.
var replCommands = []replCommand{
	{"/join", cmdJoin, "ROOM", "join ROOM (created if new) and make it the current room"},
	{"/leave", cmdLeave, "[ROOM]", "leave ROOM (default: the current room)"},
	{"/rooms", cmdRooms, "", "list rooms with their members and unread messages"},
	{"/who", cmdWho, "[ROOM]", "list a room's members, online or not"},
	{"/history", cmdHistory, "[N]", "show the current room's last N messages (default 20)"},
	{"/msg", cmdMsg, "USER TEXT", "send USER a direct message"},
	{"/status", cmdStatus, "", "show every node (up or down) and every shard's leader and term"},
	{"/stats", cmdStats, "[JOB]", "run an analytics job over the current room (default messages-per-user)"},
	{"/search", cmdSearch, "REGEXP", "find messages in every room you may read, newest first"},
	{"/help", cmdHelp, "", "show this help"},
	{"/quit", cmdQuit, "", "leave the REPL (also Ctrl-D)"},
}

// Defaults of the commands' arguments.
const (
	defaultHistoryLines = 20
	maxHistoryLines     = 1000
)

// input is a parsed input line.
type input struct {
	kind cmdKind
	// arg is the room of join, leave and who, or the user of msg.
	arg string
	// text is the text of say and msg.
	text string
	// n is the count of history.
	n int
}

// parseInput parses a line typed at the REPL. A line starting with "/" is
// a command; "//" starts text that itself begins with a slash. Any other
// line that is not blank is text for the current room, sent as typed. A
// mistake returns an error worded for the user.
func parseInput(line string) (input, error) {
	if strings.TrimSpace(line) == "" {
		return input{kind: cmdNone}, nil
	}
	if !strings.HasPrefix(line, "/") {
		return input{kind: cmdSay, text: line}, nil
	}
	if strings.HasPrefix(line, "//") {
		return input{kind: cmdSay, text: line[1:]}, nil
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	rest = strings.TrimSpace(rest)
	cmd := lookupReplCommand(name)
	if cmd == nil {
		return input{}, fmt.Errorf("unknown command %s (/help lists them; // sends a line starting with /)", name)
	}
	in := input{kind: cmd.kind}
	switch cmd.kind {
	case cmdJoin:
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return input{}, fmt.Errorf("usage: /join ROOM")
		}
		in.arg = rest
	case cmdLeave, cmdWho:
		if strings.ContainsAny(rest, " \t") {
			return input{}, fmt.Errorf("usage: %s %s", cmd.name, cmd.args)
		}
		in.arg = rest
	case cmdHistory:
		in.n = defaultHistoryLines
		if rest != "" {
			n, err := strconv.Atoi(rest)
			if err != nil || n <= 0 || n > maxHistoryLines {
				return input{}, fmt.Errorf("usage: /history [N], N from 1 to %d", maxHistoryLines)
			}
			in.n = n
		}
	case cmdStats:
		if strings.ContainsAny(rest, " \t") {
			return input{}, fmt.Errorf("usage: /stats [JOB]")
		}
		in.arg = rest
		if in.arg == "" {
			in.arg = "messages-per-user"
		}
	case cmdSearch:
		if rest == "" {
			return input{}, fmt.Errorf("usage: /search REGEXP")
		}
		in.text = rest
	case cmdMsg:
		user, text, _ := strings.Cut(rest, " ")
		text = strings.TrimLeft(text, " ")
		if user == "" || strings.TrimSpace(text) == "" {
			return input{}, fmt.Errorf("usage: /msg USER TEXT")
		}
		in.arg, in.text = user, text
	default:
		if rest != "" {
			return input{}, fmt.Errorf("%s takes no argument", cmd.name)
		}
	}
	return in, nil
}

// lookupReplCommand returns the command called name ("/join"), or nil.
func lookupReplCommand(name string) *replCommand {
	for i := range replCommands {
		if replCommands[i].name == name {
			return &replCommands[i]
		}
	}
	return nil
}

// helpText is what /help prints, one line per command.
func helpText() []string {
	out := []string{"Type text to send it to the current room. Commands:"}
	for _, c := range replCommands {
		syn := c.name
		if c.args != "" {
			syn += " " + c.args
		}
		out = append(out, fmt.Sprintf("  %-18s %s", syn, c.summary))
	}
	out = append(out,
		"Tab completes commands, rooms and users; Up and Down recall earlier lines.",
		"A line starting with // sends the text after the first slash.")
	return out
}
