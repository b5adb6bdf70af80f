package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// exec runs one input line. Mistakes and refusals are printed as one line
// and the REPL goes on; only errQuit and ctx's end stop it.
func (r *repl) exec(ctx context.Context, line string) error {
	in, err := parseInput(line)
	if err != nil {
		r.scr.error(err.Error())
		return nil
	}
	switch in.kind {
	case cmdNone:
	case cmdSay:
		room := r.v.room()
		if room == "" {
			r.scr.error("you are in no room: /join ROOM first")
			return nil
		}
		return r.queue(ctx, outgoing{room: room, text: in.text})
	case cmdMsg:
		return r.queue(ctx, outgoing{user: in.arg, text: in.text})
	case cmdJoin:
		r.join(ctx, in.arg)
	case cmdLeave:
		r.leave(ctx, in.arg)
	case cmdRooms:
		r.rooms(ctx)
	case cmdWho:
		r.who(ctx, in.arg)
	case cmdHistory:
		r.history(ctx, in.n)
	case cmdStatus:
		r.status(ctx)
	case cmdStats:
		r.stats(ctx, in.arg)
	case cmdSearch:
		r.search(ctx, in.text)
	case cmdHelp:
		r.scr.println(helpText()...)
	case cmdQuit:
		return errQuit
	}
	return ctx.Err()
}

// failed prints "what: why" for a refused or failed operation.
func (r *repl) failed(what string, err error) {
	r.scr.error(what + ": " + errText(err))
}

// errText words err for the user: a cluster's refusal as "code: message"
// without the SDK's wrapping, a timeout as such.
func errText(err error) string {
	var te *transport.Error
	switch {
	case errors.As(err, &te):
		return clean(te.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (is the cluster reachable?)"
	case errors.Is(err, client.ErrClosed), errors.Is(err, context.Canceled):
		return "interrupted"
	}
	return clean(err.Error())
}

// join makes the user a member of room (the room sees the notice) and
// enters it.
func (r *repl) join(ctx context.Context, room string) {
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	if err := r.c.Join(octx, room); err != nil {
		r.failed("join "+room, err)
		return
	}
	r.comp.addRoom(room)
	r.enter(ctx, room)
}

// enter makes room the current room: it shows the room's last joinBacklog
// messages (less those shown already in this session), then its live
// ones, and stops following the previous room.
func (r *repl) enter(ctx context.Context, room string) {
	if room == r.v.room() {
		r.scr.info("you are in " + clean(room))
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	recent, err := r.c.History(octx, room, client.HistoryOptions{Last: joinBacklog})
	if err != nil {
		r.failed("join "+room, err)
		return
	}
	from := uint64(1)
	if len(recent) > 0 {
		from = recent[0].Seq
	}
	var fd *feed
	if !r.feeds.has(room) {
		// A direct-message room may be followed already.
		fd, err = r.feeds.open(room, from)
		if err != nil {
			r.failed("join "+room, err)
			return
		}
	}
	old := r.v.room()
	r.v.setRoom(room)
	r.scr.info("-- " + clean(room) + " --")
	if skipped := earlierUnseen(from, r.seen.get(room), r.v.lastPrinted(room)); skipped > 0 {
		n := min(int(skipped)+joinBacklog, maxHistoryLines)
		r.scr.info(fmt.Sprintf("(%d earlier messages you have not seen; /history %d shows them)", skipped, n))
	}
	if fd != nil {
		r.feeds.begin(fd)
	}
	if old != "" && !r.v.isDM(old) {
		r.feeds.stop(old)
	}
	r.background(func() { r.refreshWho(ctx, room) })
}

// earlierUnseen returns how many messages before seq from were neither
// seen (on this machine) nor shown (in this session), when some were.
func earlierUnseen(from, seen, printed uint64) uint64 {
	last := max(seen, printed)
	if last == 0 || from <= last+1 {
		return 0
	}
	return from - 1 - last
}

// leave ends the user's membership of room (the current room if "") and,
// if it is the current room, leaves the user in no room.
func (r *repl) leave(ctx context.Context, room string) {
	cur := r.v.room()
	if room == "" {
		room = cur
	}
	if room == "" {
		r.scr.error("you are in no room")
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	if err := r.c.Leave(octx, room); err != nil {
		r.failed("leave "+room, err)
		return
	}
	if room == cur {
		r.v.setRoom("")
		if !r.v.isDM(room) {
			r.feeds.stop(room)
		}
		r.scr.info("you left " + clean(room) + "; /join a room to chat (/rooms lists them)")
		return
	}
	r.scr.info("you left " + clean(room))
}

// rooms prints every room with its members and unread messages.
func (r *repl) rooms(ctx context.Context) {
	// What this REPL has shown is read: tell the cluster first.
	r.syncRead(ctx)
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	list, err := r.c.Rooms(octx)
	if err != nil {
		r.failed("rooms", err)
		return
	}
	r.learnRooms(list)
	r.scr.println(roomsTable(list, r.v.room(), r.c.User(), r.seen.get)...)
}

// who prints the members of room (the current room if "").
func (r *repl) who(ctx context.Context, room string) {
	if room == "" {
		room = r.v.room()
	}
	if room == "" {
		r.scr.error("you are in no room: /who ROOM")
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	members, err := r.c.Who(octx, room)
	if err != nil {
		r.failed("who "+room, err)
		return
	}
	for _, m := range members {
		r.comp.addUsers(m.User)
	}
	r.scr.println(whoLines(r.scr.color, room, members)...)
}

// history prints the current room's last n messages.
func (r *repl) history(ctx context.Context, n int) {
	room := r.v.room()
	if room == "" {
		r.scr.error("you are in no room: /join ROOM first")
		return
	}
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	msgs, err := r.c.History(octx, room, client.HistoryOptions{Last: n})
	if err != nil {
		r.failed("history", err)
		return
	}
	peer := ""
	if r.v.isDM(room) {
		peer = dmPeer(room, r.c.User())
	}
	lines := []string{paint(r.scr.color, sgrDim, fmt.Sprintf("-- the last %d messages of %s --", len(msgs), clean(room)))}
	for _, m := range msgs {
		lines = append(lines, formatChat(r.scr.color, r.v.loc, m, peer))
		r.seen.mark(room, m.Seq)
	}
	r.scr.println(lines...)
}

// status prints every node, up or down, and every shard's leader and term.
func (r *repl) status(ctx context.Context) {
	octx, cancel := r.set.operation(ctx)
	defer cancel()
	st, err := r.c.Status(octx)
	if err != nil {
		r.failed("status", err)
		return
	}
	r.scr.println(statusLines(st, r.c.Node().ID)...)
}
