package daemon

import (
	"sync"
	"time"

	"github.com/parleychat/parley/transport"
)

// maxTyping bounds the typing notices one node keeps, so a flood of them
// costs bounded memory; past it new ones are dropped until old ones end.
const maxTyping = 10000

// localTyping is who is typing where among this node's sessions, for
// transport.TypingTTL after each notice. Like presence it is never written
// to any log: other nodes learn it by asking (OpPresence), and it is gone
// when the node is.
type localTyping struct {
	mu    sync.Mutex
	until map[transport.Typing]time.Time
}

func newLocalTyping() *localTyping {
	return &localTyping{until: make(map[transport.Typing]time.Time)}
}

// add records that user is typing in room at now.
func (t *localTyping) add(room, user string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := transport.Typing{Room: room, User: user}
	if _, ok := t.until[k]; !ok && len(t.until) >= maxTyping {
		t.pruneLocked(now)
		if len(t.until) >= maxTyping {
			return
		}
	}
	t.until[k] = now.Add(transport.TypingTTL)
}

// list returns the notices still live at now.
func (t *localTyping) list(now time.Time) []transport.Typing {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(now)
	out := make([]transport.Typing, 0, len(t.until))
	for k := range t.until {
		out = append(out, k)
	}
	return out
}

func (t *localTyping) pruneLocked(now time.Time) {
	for k, until := range t.until {
		if !now.Before(until) {
			delete(t.until, k)
		}
	}
}
