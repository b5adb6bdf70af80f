package main

import (
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// view decides which messages reach the screen and how they look: the
// current room's and every direct message, each at most once per session
// however many times a subscription or a room switch delivers it. It is
// safe for concurrent use: every subscription's goroutine calls show.
type view struct {
	me   string
	scr  *screen
	seen *seenState
	comp *completer
	loc  *time.Location

	mu      sync.Mutex
	current string            // "" when in no room
	dms     map[string]string // direct-message room → the other user
	printed map[string]uint64 // room → last seq shown
}

func newView(me string, scr *screen, seen *seenState, comp *completer) *view {
	return &view{
		me:      me,
		scr:     scr,
		seen:    seen,
		comp:    comp,
		loc:     time.Local,
		dms:     make(map[string]string),
		printed: make(map[string]uint64),
	}
}

// room returns the current room.
func (v *view) room() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.current
}

// setRoom makes room the current one ("" for none).
func (v *view) setRoom(room string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.current = room
}

// addDM records room as a direct-message room with peer, and reports
// whether it was new.
func (v *view) addDM(room, peer string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.dms[room]; ok {
		return false
	}
	v.dms[room] = peer
	return true
}

// isDM reports whether room is a known direct-message room.
func (v *view) isDM(room string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.dms[room]
	return ok
}

// lastPrinted returns the last seq of room shown in this session.
func (v *view) lastPrinted(room string) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.printed[room]
}

// show prints m if it belongs to the current room or a direct-message
// room and has not been shown yet, and marks it seen.
func (v *view) show(m parley.Message) {
	v.mu.Lock()
	defer v.mu.Unlock()
	peer, dm := v.dms[m.Room]
	if !dm && m.Room != v.current {
		return
	}
	if m.Seq <= v.printed[m.Room] {
		return
	}
	v.printed[m.Room] = m.Seq
	v.seen.mark(m.Room, m.Seq)
	v.comp.addUsers(m.User)
	if !dm {
		peer = ""
	}
	v.scr.println(formatChat(v.scr.color, v.loc, m, peer))
}

// formatChat renders a message as one line: "[15:04:05] <alice> hi", a
// notice "[15:04:05] * alice joined" (dimmed), or, in a direct-message
// room with peer, "[15:04:05] [dm bob] <alice> hi". Names get their colour
// and text from the network is made safe to print.
func formatChat(mode colorMode, loc *time.Location, m parley.Message, peer string) string {
	ts := "[" + m.TS.In(loc).Format("15:04:05") + "] "
	user := clean(m.User)
	switch m.Kind {
	case parley.KindJoin:
		return paint(mode, sgrDim, ts+"* "+user+" joined")
	case parley.KindLeave:
		return paint(mode, sgrDim, ts+"* "+user+" left")
	}
	var b strings.Builder
	b.WriteString(ts)
	if peer != "" {
		b.WriteString(paint(mode, sgrBold, "[dm "+clean(peer)+"]"))
		b.WriteString(" ")
	}
	b.WriteString("<")
	b.WriteString(paint(mode, nameColor(mode, m.User), user))
	b.WriteString("> ")
	b.WriteString(clean(m.Text))
	return b.String()
}

// dmPeer returns the user other than me in the direct-message room room,
// or "" if room is not a direct-message room of me's.
func dmPeer(room, me string) string {
	a, b, ok := parley.DMParticipants(room)
	switch {
	case !ok:
		return ""
	case a == me:
		return b
	case b == me:
		return a
	}
	return ""
}

// removeDM forgets room as a direct-message room.
func (v *view) removeDM(room string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.dms, room)
}
