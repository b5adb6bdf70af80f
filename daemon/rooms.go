package daemon

import (
	"context"
	"fmt"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"

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
func (ss *session) rooms(ctx context.Context, user string) (transport.RoomsResponse, error) {
	sums, err := ss.srv.node.RoomSummaries(user)
	if err != nil {
		return transport.RoomsResponse{}, err
	}
	out := transport.RoomsResponse{Rooms: []transport.RoomInfo{}}
	// Counts, seqs and membership of rooms whose shard this node does not
	// host come from a node that does: one request per such node.
	remote := make(map[string]chatcore.NodeRecord)
	byHost := make(map[uint64]chatcore.NodeRecord)
	if !isForwarded(ctx) {
		for _, s := range sums {
			if local, hosts, err := ss.srv.node.RoomHosts(s.Name); err == nil && !local && len(hosts) > 0 {
				remote[s.Name] = hosts[0]
				byHost[hosts[0].ID] = hosts[0]
			}
		}
	}
	theirs := make(map[string]transport.RoomInfo)
	for _, h := range byHost {
		var resp transport.RoomsResponse
		body, err := parley.Marshal(transport.RoomsRequest{})
		if err == nil {
			err = ss.srv.peers.call(ctx, h, transport.OpForward, transport.ForwardRequest{User: user, Op: transport.OpRooms, Body: body}, &resp)
		}
		if err != nil {
			return transport.RoomsResponse{}, fmt.Errorf("rooms: from node %d: %w", h.ID, err)
		}
		for _, r := range resp.Rooms {
			if remote[r.Name].ID == h.ID {
				theirs[r.Name] = r
			}
		}
	}
	for _, s := range sums {
		if r, ok := theirs[s.Name]; ok {
			out.Rooms = append(out.Rooms, r)
			continue
		}
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
