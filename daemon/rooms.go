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

// rooms lists the public rooms of the directory and the user's own
// direct-message rooms; other users' direct-message rooms are left out (by
// chatcore.Node.RoomSummaries).
func (ss *session) rooms(ctx context.Context, user string) (transport.RoomsResponse, error) {
	sums, err := ss.srv.node.RoomSummaries(user)
	if err != nil {
		return transport.RoomsResponse{}, err
	}
	out := transport.RoomsResponse{Rooms: []transport.RoomInfo{}}
	// Counts, seqs, membership and unread counts of rooms whose shard this
	// node does not host come from a node that does: one forwarded request
	// per such shard, to its hosts in turn.
	byShard := make(map[uint64][]string)
	if !isForwarded(ctx) {
		for _, s := range sums {
			if local, hosts, err := ss.srv.node.RoomHosts(s.Name); err == nil && !local && len(hosts) > 0 {
				shard, err := ss.srv.node.RoomShard(s.Name)
				if err == nil {
					byShard[shard] = append(byShard[shard], s.Name)
				}
			}
		}
	}
	theirs := make(map[string]transport.RoomInfo)
	for _, names := range byShard {
		var resp transport.RoomsResponse
		if err := forward(ctx, ss.srv, names[0], user, transport.OpRooms, transport.RoomsRequest{}, &resp); err != nil {
			return transport.RoomsResponse{}, fmt.Errorf("rooms: %w", err)
		}
		for _, r := range resp.Rooms {
			if slices.Contains(names, r.Name) {
				theirs[r.Name] = r
			}
		}
	}
	for _, s := range sums {
		if r, ok := theirs[s.Name]; ok {
			out.Rooms = append(out.Rooms, r)
			continue
		}
		out.Rooms = append(out.Rooms, transport.RoomInfo{Name: s.Name, Members: s.Members, LastSeq: s.LastSeq, Joined: s.Joined, DM: s.DM, Unread: s.Unread})
	}
	return out, nil
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
	online, typing := ss.srv.view.get(ctx)
	out := transport.WhoResponse{Members: make([]transport.Member, len(users))}
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
func (ss *session) localPresence() (transport.PresenceResponse, error) {
	if !ss.peerNode {
		return transport.PresenceResponse{}, transport.Errorf(transport.CodeForbidden, "presence is asked by nodes only")
	}
	return transport.PresenceResponse{Users: ss.srv.presence.list(), Typing: ss.srv.typing.list(time.Now())}, nil
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
