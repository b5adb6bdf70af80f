package daemon

import (
	"context"

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

// rooms lists the public rooms of the directory and the user's own
// direct-message rooms; other users' direct-message rooms are left out (by
// chatcore.Node.RoomSummaries).
func (ss *session) rooms(user string) (transport.RoomsResponse, error) {
	sums, err := ss.srv.node.RoomSummaries(user)
	if err != nil {
		return transport.RoomsResponse{}, err
	}
	out := transport.RoomsResponse{Rooms: []transport.RoomInfo{}}
	for _, s := range sums {
		out.Rooms = append(out.Rooms, transport.RoomInfo{Name: s.Name, Members: s.Members, LastSeq: s.LastSeq, Joined: s.Joined, DM: s.DM})
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
	online := ss.srv.view.get(ctx)
	out := transport.WhoResponse{Members: make([]transport.Member, len(users))}
	for i, u := range users {
		out.Members[i] = transport.Member{User: u, Online: online[u]}
	}
	return out, nil
}

// localPresence answers another node: the users with a live session here.
func (ss *session) localPresence() (transport.PresenceResponse, error) {
	if !ss.peerNode {
		return transport.PresenceResponse{}, transport.Errorf(transport.CodeForbidden, "presence is asked by nodes only")
	}
	return transport.PresenceResponse{Users: ss.srv.presence.list()}, nil
}
