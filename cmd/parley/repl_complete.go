package main

import (
	"slices"
	"strings"
	"sync"
)

// completer holds the names the REPL's Tab completes: rooms from the last
// rooms listing, users from /who and from the senders of messages seen.
// It is safe for concurrent use: liner calls complete while the REPL's
// goroutines update the names.
type completer struct {
	mu    sync.Mutex
	rooms []string
	users map[string]bool
}

func newCompleter() *completer {
	return &completer{users: make(map[string]bool)}
}

// setRooms replaces the room names.
func (c *completer) setRooms(names []string) {
	names = slices.Clone(names)
	slices.Sort(names)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rooms = slices.Compact(names)
}

// addRoom adds one room name.
func (c *completer) addRoom(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, found := slices.BinarySearch(c.rooms, name); !found {
		c.rooms = slices.Insert(c.rooms, i, name)
	}
}

// addUsers adds user names.
func (c *completer) addUsers(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		if n != "" {
			c.users[n] = true
		}
	}
}

// complete is the liner.WordCompleter of the REPL.
func (c *completer) complete(line string, pos int) (head string, items []string, tail string) {
	c.mu.Lock()
	rooms := slices.Clone(c.rooms)
	users := make([]string, 0, len(c.users))
	for u := range c.users {
		users = append(users, u)
	}
	c.mu.Unlock()
	slices.Sort(users)
	return completeWord(line, pos, rooms, users)
}

// completeWord completes the word that ends at rune position pos of line.
// It returns the line before that word, the candidates for the word and
// the line after pos, as liner.WordCompleter does. What is completed
// depends on where the word stands:
//
//   - the first word, when it starts with "/": a command;
//   - the argument of /join, /leave and /who: a room;
//   - the user of /msg, and any word of text: a user, keeping a leading "@".
//
// A candidate ends with a space unless the text after the cursor already
// starts with one.
func completeWord(line string, pos int, rooms, users []string) (head string, items []string, tail string) {
	r := []rune(line)
	if pos < 0 || pos > len(r) {
		pos = len(r)
	}
	before := string(r[:pos])
	tail = string(r[pos:])
	start := strings.LastIndexAny(before, " \t") + 1
	head, word := before[:start], before[start:]
	space := " "
	if strings.HasPrefix(tail, " ") {
		space = ""
	}
	prior := strings.Fields(head)
	var pool []string
	prefix := ""
	switch {
	case len(prior) == 0 && strings.HasPrefix(word, "/"):
		for _, cmd := range replCommands {
			pool = append(pool, cmd.name)
		}
	case len(prior) > 0 && strings.HasPrefix(prior[0], "/"):
		switch prior[0] {
		case "/join", "/leave", "/who":
			if len(prior) == 1 {
				pool = rooms
			}
		case "/msg":
			pool = users
		}
	default:
		pool = users
		if strings.HasPrefix(word, "@") {
			prefix, word = "@", word[1:]
		}
	}
	for _, cand := range pool {
		if strings.HasPrefix(cand, word) {
			items = append(items, prefix+cand+space)
		}
	}
	return head, items, tail
}
