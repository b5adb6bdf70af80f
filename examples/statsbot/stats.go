package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// command is what a user writes in the room to get an answer.
const command = "!stats"

// stats is what the bot has seen since it started: chat messages and their
// senders, other than its own, and the time it started.
type stats struct {
	me       string
	started  time.Time
	messages int
	users    map[string]bool
}

func newStats(me string, started time.Time) *stats {
	return &stats{me: me, started: started, users: make(map[string]bool)}
}

// observe counts m and reports whether it asks for the stats. Notices
// (joins, leaves) and the bot's own messages are not counted.
func (s *stats) observe(m parley.Message) bool {
	if m.Kind != "" || m.User == s.me {
		return false
	}
	s.messages++
	s.users[m.User] = true
	return strings.TrimSpace(m.Text) == command
}

// answer is the reply to "!stats" at time now.
func (s *stats) answer(now time.Time) string {
	return fmt.Sprintf("stats: %d messages seen from %d users; up %s",
		s.messages, len(s.users), now.Sub(s.started).Round(time.Second))
}
