package daemon

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// joinRoom makes the session's user a member of a room.
func (ss *session) joinRoom(ctx context.Context, r transport.JoinRoomRequest) error {
	_, err := ss.srv.node.Join(ctx, r.Room, ss.user)
	return err
}

// leaveRoom ends the session's user's membership of a room.
func (ss *session) leaveRoom(ctx context.Context, r transport.LeaveRoomRequest) error {
	_, err := ss.srv.node.Leave(ctx, r.Room, ss.user)
	return err
}

// markRead moves the session's user's read marker in a room.
func (ss *session) markRead(ctx context.Context, r transport.ReadRequest) (transport.ReadResponse, error) {
	seq, err := ss.srv.node.MarkRead(ctx, r.Room, ss.user, r.Seq)
	if err != nil {
		return transport.ReadResponse{}, err
	}
	return transport.ReadResponse{Seq: seq}, nil
}

// rooms lists a page of the public rooms of the directory and the user's
// own direct-message rooms; other users' direct-message rooms are left out.
func (ss *session) rooms(r transport.RoomsRequest) (transport.RoomsResponse, error) {
	sums, err := ss.srv.node.RoomSummaries(ss.user)
	if err != nil {
		return transport.RoomsResponse{}, err
	}
	visible := []transport.RoomInfo{}
	for _, s := range sums {
		visible = append(visible, transport.RoomInfo{Name: s.Name, Members: s.Members, LastSeq: s.LastSeq, Joined: s.Joined, DM: s.DM, Unread: s.Unread})
	}
	page, next := transport.Page(visible, func(ri transport.RoomInfo) string { return ri.Name }, r.After, r.Limit)
	return transport.RoomsResponse{Rooms: page, Next: next}, nil
}

// who lists a room's members, each online or not.
func (ss *session) who(ctx context.Context, r transport.WhoRequest) (transport.WhoResponse, error) {
	users, err := ss.srv.node.Members(ctx, r.Room, ss.user)
	if err != nil {
		return transport.WhoResponse{}, err
	}
	users, next := transport.Page(users, func(u string) string { return u }, r.After, r.Limit)
	online, typing := ss.srv.view.get(ctx)
	out := transport.WhoResponse{Members: make([]transport.Member, len(users)), Next: next}
	for i, u := range users {
		out.Members[i] = transport.Member{User: u, Online: online[u]}
	}
	for _, u := range slices.Sorted(maps.Keys(typing[r.Room])) {
		if u != ss.user {
			out.Typing = append(out.Typing, u)
		}
	}
	return out, nil
}

// localPresence answers another node: the users with a live session here.
func (ss *session) localPresence(r transport.PresenceRequest) (transport.PresenceResponse, error) {
	if !ss.peerNode {
		return transport.PresenceResponse{}, transport.Errorf(transport.CodeForbidden, "presence is asked by nodes only")
	}
	users, next := transport.Page(ss.srv.presence.list(), func(u string) string { return u }, r.After, r.Limit)
	out := transport.PresenceResponse{Users: users, Next: next}
	if r.After == "" {
		out.Typing = ss.srv.typing.list(time.Now())
	}
	return out, nil
}

// typingNotice records that the session's user is typing in a room, in
// this node's memory only (see localTyping).
func (ss *session) typingNotice(r transport.TypingRequest) error {
	if err := parley.ValidateRoom(r.Room); err != nil {
		return err
	}
	if err := parley.CheckAccess(r.Room, ss.user); err != nil {
		return err
	}
	ss.srv.typing.add(r.Room, ss.user, time.Now())
	return nil
}
