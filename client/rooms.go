package client

import (
	"context"
	"fmt"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// User returns the name the Client logged in as.
func (c *Client) User() string { return c.opts.User }

// Join makes the Client's user a member of room, durably; the room is
// created if new, and its members see the notice "<user> joined" (a
// Message with Kind parley.KindJoin). Joining a room one is a member of
// changes nothing, so Join is retried across reconnects and after
// unavailable refusals like Send, until it is acknowledged or ctx ends.
// Sending to a room does not require joining it: membership is what Rooms
// and Who report. Only its two participants may join a direct-message room;
// anyone else gets a *transport.Error with code forbidden.
func (c *Client) Join(ctx context.Context, room string) error {
	if room == "" {
		return fmt.Errorf("join: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	if err := c.do(ctx, transport.OpJoin, transport.JoinRoomRequest{Room: room}, nil); err != nil {
		return fmt.Errorf("join %s: %w", room, err)
	}
	return nil
}

// Leave ends the Client's user's membership of room; its members see the
// notice "<user> left" (Kind parley.KindLeave). Leaving a room one is not
// a member of changes nothing, so Leave is retried like Join.
func (c *Client) Leave(ctx context.Context, room string) error {
	if room == "" {
		return fmt.Errorf("leave: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	if err := c.do(ctx, transport.OpLeave, transport.LeaveRoomRequest{Room: room}, nil); err != nil {
		return fmt.Errorf("leave %s: %w", room, err)
	}
	return nil
}

// MarkRead moves the Client's user's read marker in room forward to seq
// (capped at the room's last seq; a marker never moves back) and returns
// where it is. The cluster keeps the markers, so the unread counts of
// Rooms (RoomInfo.Unread) agree on every client of the user, the web
// client's included. It is retried across reconnects until ctx ends.
func (c *Client) MarkRead(ctx context.Context, room string, seq uint64) (uint64, error) {
	var resp transport.ReadResponse
	if err := c.do(ctx, transport.OpRead, transport.ReadRequest{Room: room, Seq: seq}, &resp); err != nil {
		return 0, fmt.Errorf("mark read %s: %w", room, err)
	}
	return resp.Seq, nil
}

// Typing tells the cluster that the Client's user is typing in room. The
// notice lasts transport.TypingTTL in the memory of the nodes, never in the
// room's log; send it again to go on typing.
func (c *Client) Typing(ctx context.Context, room string) error {
	if err := c.do(ctx, transport.OpTyping, transport.TypingRequest{Room: room}, nil); err != nil {
		return fmt.Errorf("typing %s: %w", room, err)
	}
	return nil
}

// WhoIsTyping lists, in name order, the users other than the Client's who
// are typing in room (see Typing). It is retried across reconnects until
// ctx ends.
func (c *Client) WhoIsTyping(ctx context.Context, room string) ([]string, error) {
	var resp transport.WhoResponse
	if err := c.do(ctx, transport.OpWho, transport.WhoRequest{Room: room}, &resp); err != nil {
		return nil, fmt.Errorf("who is typing in %s: %w", room, err)
	}
	return resp.Typing, nil
}

// Rooms lists every public room of the cluster, and the direct-message
// rooms the Client's user takes part in, in name order: each with its
// member count, its last seq, whether the user has joined it and whether
// it is a direct-message room. The counts are the connected node's view and
// may lag the cluster by a moment. It is retried across reconnects until
// ctx ends.
//
// The node answers a page at a time (transport.MaxPage rooms); Rooms asks
// for every page and returns them all.
func (c *Client) Rooms(ctx context.Context) ([]transport.RoomInfo, error) {
	var out []transport.RoomInfo
	for after := ""; ; {
		var resp transport.RoomsResponse
		if err := c.do(ctx, transport.OpRooms, transport.RoomsRequest{After: after}, &resp); err != nil {
			return nil, fmt.Errorf("rooms: %w", err)
		}
		out = append(out, resp.Rooms...)
		if resp.Next == "" || resp.Next <= after {
			if out == nil {
				out = []transport.RoomInfo{}
			}
			return out, nil
		}
		after = resp.Next
	}
}

// Who lists the members of room in name order, each with whether the user
// is online: connected to some node of the cluster right now. A user goes
// offline about a second after its client disconnects, about two after the
// node it is connected to dies (unless its client reconnects to another),
// and within the QUIC idle timeout (6 s) after its client vanishes
// silently. Who is retried across reconnects until ctx ends, and asks for
// every page of a large room's members.
func (c *Client) Who(ctx context.Context, room string) ([]transport.Member, error) {
	if room == "" {
		return nil, fmt.Errorf("who: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	var out []transport.Member
	for after := ""; ; {
		var resp transport.WhoResponse
		if err := c.do(ctx, transport.OpWho, transport.WhoRequest{Room: room, After: after}, &resp); err != nil {
			return nil, fmt.Errorf("who %s: %w", room, err)
		}
		out = append(out, resp.Members...)
		if resp.Next == "" || resp.Next <= after {
			if out == nil {
				out = []transport.Member{}
			}
			return out, nil
		}
		after = resp.Next
	}
}

// DirectMessage sends text to user privately: into the direct-message room
// parley.DMRoom(c.User(), user), which only the two of them may read,
// write or join. The first message makes both of them members, so the room
// shows as joined in both users' Rooms. Delivery is as for Send: retried
// with the same message id until acknowledged or ctx ends.
func (c *Client) DirectMessage(ctx context.Context, user, text string) (SendResult, error) {
	room := parley.DMRoom(c.User(), user)
	if _, _, ok := parley.DMParticipants(room); !ok {
		return SendResult{}, fmt.Errorf("direct message: %w",
			transport.Errorf(transport.CodeInvalid, "no direct messages between %q and %q", c.User(), user))
	}
	return c.Send(ctx, room, text)
}
