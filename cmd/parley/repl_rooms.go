package main

import (
	"context"
	"slices"
	"strings"

	"github.com/parleychat/parley/transport"
)

// pollRooms lists the rooms, for Tab's room names and to follow
// direct-message rooms the REPL did not know of: someone wrote to the user.
// A failure (say, while the SDK reconnects) waits for the next poll.
func (r *repl) pollRooms(ctx context.Context) {
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	list, err := r.c.Rooms(octx)
	if err != nil {
		return
	}
	r.learnRooms(list)
}

// learnRooms takes in a rooms listing: public room names for Tab, and a
// feed for each new direct-message room.
func (r *repl) learnRooms(list []transport.RoomInfo) {
	names := make([]string, 0, len(list))
	for _, ri := range list {
		if !ri.DM {
			names = append(names, ri.Name)
			continue
		}
		if peer := dmPeer(ri.Name, r.c.User()); peer != "" {
			r.followDM(ri.Name, peer, ri.LastSeq)
		}
	}
	r.comp.setRooms(names)
}

// followDM starts following the direct-message room with peer, if not yet
// followed, from its first message this user has not seen, but at most
// joinBacklog messages before lastSeq.
func (r *repl) followDM(room, peer string, lastSeq uint64) {
	r.comp.addUsers(peer)
	if !r.v.addDM(room, peer) {
		return
	}
	fd, err := r.feeds.open(room, catchUpFrom(lastSeq, r.seen.get(room), joinBacklog))
	if err != nil {
		// The next poll tries again.
		r.v.removeDM(room)
		return
	}
	r.feeds.begin(fd)
}

// catchUpFrom returns the seq to follow a room from: the first one after
// seen, but no earlier than the last keep messages up to lastSeq.
func catchUpFrom(lastSeq, seen uint64, keep int) uint64 {
	from := seen + 1
	if k := uint64(keep); lastSeq >= k && lastSeq-k+1 > from {
		from = lastSeq - k + 1
	}
	return from
}

// syncRead moves the user's read markers in the cluster up to what this
// REPL has shown, so "parley rooms", /rooms and the web client count the
// same unread messages. A failure waits for the next poll.
func (r *repl) syncRead(ctx context.Context) {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	if r.readSent == nil {
		r.readSent = make(map[string]uint64)
	}
	for room, seq := range r.seen.all() {
		if seq <= r.readSent[room] {
			continue
		}
		octx, cancel := r.set.operation(ctx)
		_, err := r.c.MarkRead(octx, room, seq)
		cancel()
		if err == nil {
			r.readSent[room] = seq
		}
	}
}

// pollTyping prints a line when someone starts typing in the current room
// (typing notices are ephemeral: see client.Typing).
func (r *repl) pollTyping(ctx context.Context) {
	room := r.v.room()
	if room == "" {
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	users, err := r.c.WhoIsTyping(octx, room)
	if err != nil {
		return
	}
	var started []string
	for _, u := range users {
		if !slices.Contains(r.typing, u) {
			started = append(started, clean(u))
		}
	}
	r.typing = users
	if len(started) > 0 {
		verb := " is typing…"
		if len(started) > 1 {
			verb = " are typing…"
		}
		r.scr.info(strings.Join(started, ", ") + verb)
	}
}

// refreshWho adds room's members to Tab's user names.
func (r *repl) refreshWho(ctx context.Context, room string) {
	if room == "" {
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	members, err := r.c.Who(octx, room)
	if err != nil {
		return
	}
	for _, m := range members {
		r.comp.addUsers(m.User)
	}
}
