package daemon

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// Presence is who has a live session, never written to any log. Each node
// counts its own user sessions (localPresence); a node that wants the whole
// cluster's view asks every other node for its users over the node-to-node
// protocol (peers.go) and merges the answers (presenceView). A node that
// does not answer in time contributes no one, so the users of a dead node
// go offline as soon as the next view is made; a client that vanishes
// silently goes offline when its QUIC idle timeout ends its session.
const (
	// presenceTTL is how long a merged view is reused.
	presenceTTL = time.Second
	// peerTimeout bounds asking one node for its users.
	peerTimeout = time.Second
)

// localPresence counts the live user sessions on this node.
type localPresence struct {
	mu    sync.Mutex
	users map[string]int
}

func newLocalPresence() *localPresence {
	return &localPresence{users: make(map[string]int)}
}

// add counts one more live session of user.
func (p *localPresence) add(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.users[user]++
}

// remove counts one session of user fewer.
func (p *localPresence) remove(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users[user]--; p.users[user] <= 0 {
		delete(p.users, user)
	}
}

// list returns the users with a live session, in name order.
func (p *localPresence) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.users))
}

// presenceView is the cluster-wide set of online users, and who is typing
// where, made at most once per presenceTTL.
type presenceView struct {
	srv *Server

	// mu is held while a view is made, so concurrent askers share one
	// round of queries.
	mu     sync.Mutex
	at     time.Time
	online map[string]bool
	typing map[string]map[string]bool // room → users
}

// get returns the users with a live session on this node or on any other
// node that answers within peerTimeout, and who of them is typing in
// which room.
func (v *presenceView) get(ctx context.Context) (online map[string]bool, typing map[string]map[string]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.online != nil && time.Since(v.at) < presenceTTL {
		return v.online, v.typing
	}
	online = make(map[string]bool)
	typing = make(map[string]map[string]bool)
	addTyping := func(ts []transport.Typing) {
		for _, t := range ts {
			if typing[t.Room] == nil {
				typing[t.Room] = make(map[string]bool)
			}
			typing[t.Room][t.User] = true
		}
	}
	for _, u := range v.srv.presence.list() {
		online[u] = true
	}
	addTyping(v.srv.typing.list(time.Now()))
	nodes, err := v.srv.node.Nodes()
	if err != nil {
		v.srv.log.Warn("presence: list nodes", "err", err)
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, n := range nodes {
		if n.ID == v.srv.node.ID() {
			continue
		}
		wg.Add(1)
		go func(n chatcore.NodeRecord) {
			defer wg.Done()
			qctx, cancel := context.WithTimeout(ctx, peerTimeout)
			defer cancel()
			resp, err := v.srv.peers.presence(qctx, n)
			if err != nil {
				v.srv.log.Debug("presence: node did not answer", "peer", n.ID, "addr", n.ClientAddr, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, u := range resp.Users {
				online[u] = true
			}
			addTyping(resp.Typing)
		}(n)
	}
	wg.Wait()
	if ctx.Err() == nil {
		// A view cut short by its asker is not shared.
		v.online, v.typing, v.at = online, typing, time.Now()
	}
	return online, typing
}
