package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// joinRoom makes user a member of a room.
func (ss *session) joinRoom(ctx context.Context, user string, r transport.JoinRoomRequest) error {
	if _, done, err := forwardIfRemote[struct{}](ctx, ss.srv, r.Room, user, transport.OpJoin, r); done {
		return err
	}
	_, err := ss.srv.node.Join(ctx, r.Room, user)
	return err
}

// leaveRoom ends user's membership of a room.
func (ss *session) leaveRoom(ctx context.Context, user string, r transport.LeaveRoomRequest) error {
	if _, done, err := forwardIfRemote[struct{}](ctx, ss.srv, r.Room, user, transport.OpLeave, r); done {
		return err
	}
	_, err := ss.srv.node.Leave(ctx, r.Room, user)
	return err
}

// markRead moves the session's user's read marker in a room.
func (ss *session) markRead(ctx context.Context, user string, r transport.ReadRequest) (transport.ReadResponse, error) {
	if resp, done, err := forwardIfRemote[transport.ReadResponse](ctx, ss.srv, r.Room, user, transport.OpRead, r); done {
		return resp, err
	}
	seq, err := ss.srv.node.MarkRead(ctx, r.Room, user, r.Seq)
	if err != nil {
		return transport.ReadResponse{}, err
	}
	return transport.ReadResponse{Seq: seq}, nil
}

// rooms lists a page of the public rooms of the directory and the user's
// own direct-message rooms; other users' direct-message rooms are left out.
// The counts, seqs, membership and unread counts of the page's rooms whose
// shard this node does not host come from a node that does (remoteRooms).
func (ss *session) rooms(ctx context.Context, user string, r transport.RoomsRequest) (transport.RoomsResponse, error) {
	sums, err := ss.srv.node.RoomSummaries(user)
	if err != nil {
		return transport.RoomsResponse{}, err
	}
	visible := []transport.RoomInfo{}
	for _, s := range sums {
		visible = append(visible, transport.RoomInfo{Name: s.Name, Members: s.Members, LastSeq: s.LastSeq, Joined: s.Joined, DM: s.DM, Unread: s.Unread})
	}
	page, next := transport.Page(visible, func(ri transport.RoomInfo) string { return ri.Name }, r.After, r.Limit)
	if !isForwarded(ctx) {
		theirs, err := ss.remoteRooms(ctx, user, page)
		if err != nil {
			return transport.RoomsResponse{}, err
		}
		for i, ri := range page {
			if t, ok := theirs[ri.Name]; ok {
				page[i] = t
			}
		}
	}
	return transport.RoomsResponse{Rooms: page, Next: next}, nil
}

// remoteRooms returns, for the rooms of page whose shard this node does
// not host, their summaries as a host of the shard has them: one forwarded
// listing per such shard, to its hosts in turn, paged through.
func (ss *session) remoteRooms(ctx context.Context, user string, page []transport.RoomInfo) (map[string]transport.RoomInfo, error) {
	byShard := make(map[uint64][]string)
	for _, ri := range page {
		if local, hosts, err := ss.srv.node.RoomHosts(ri.Name); err == nil && !local && len(hosts) > 0 {
			if shard, err := ss.srv.node.RoomShard(ri.Name); err == nil {
				byShard[shard] = append(byShard[shard], ri.Name)
			}
		}
	}
	theirs := make(map[string]transport.RoomInfo)
	for _, names := range byShard {
		after := ""
		for {
			var resp transport.RoomsResponse
			if err := forward(ctx, ss.srv, names[0], user, transport.OpRooms, transport.RoomsRequest{After: after}, &resp); err != nil {
				return nil, fmt.Errorf("rooms: %w", err)
			}
			for _, ri := range resp.Rooms {
				if slices.Contains(names, ri.Name) {
					theirs[ri.Name] = ri
				}
			}
			if resp.Next == "" || len(resp.Rooms) == 0 {
				break
			}
			after = resp.Next
		}
	}
	return theirs, nil
}

// who lists a room's members, each online or not.
func (ss *session) who(ctx context.Context, user string, r transport.WhoRequest) (transport.WhoResponse, error) {
	if resp, done, err := forwardIfRemote[transport.WhoResponse](ctx, ss.srv, r.Room, user, transport.OpWho, r); done {
		return resp, err
	}
	users, err := ss.srv.node.Members(ctx, r.Room, user)
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
