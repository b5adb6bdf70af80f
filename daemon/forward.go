package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// A node that holds no replica of a room's shard serves the room anyway:
// it forwards each request about the room, for its user, to a node that
// does (OpForward over the peers' protocol connections), and relays one
// subscription per room (see relay.go). A client never sees the difference.

// forwardRetry is how long forward waits before asking the room's hosts
// again when none could serve.
const forwardRetry = 100 * time.Millisecond

// forwardAttempt bounds one host's attempt: a host killed outright does
// not answer, and the next one is asked. Every forwarded operation is safe
// to repeat (sends by their message id).
const forwardAttempt = 3 * time.Second

// forwardedKey marks a context serving a forwarded request: it is served
// here, never forwarded again.
type forwardedKey struct{}

func isForwarded(ctx context.Context) bool { return ctx.Value(forwardedKey{}) != nil }

// forwardable are the operations a node forwards, and serves forwarded.
var forwardable = map[string]bool{
	transport.OpSend: true, transport.OpHistory: true, transport.OpSubscribe: true,
	transport.OpJoin: true, transport.OpLeave: true, transport.OpWho: true,
	transport.OpRooms: true, transport.OpRead: true,
	transport.OpBackupRead: true, transport.OpImport: true,
}

// forwardIfRemote serves a request about room on a node that hosts it when
// this one does not. done reports whether it did, resp and err being then
// the answer; if not, the caller serves the request here.
func forwardIfRemote[T any](ctx context.Context, srv *Server, room, user, op string, req any) (resp T, done bool, err error) {
	if isForwarded(ctx) {
		return resp, false, nil
	}
	// The cheap question first: most requests are for rooms hosted here.
	if local, err := srv.node.HostsRoom(room); err != nil || local {
		return resp, false, nil // a bad name, or hosted here: served here
	}
	local, hosts, err := srv.node.RoomHosts(room)
	if err != nil || local || len(hosts) == 0 {
		return resp, false, nil
	}
	var target any = &resp
	if _, empty := target.(*struct{}); empty {
		target = nil // the operation answers with no body
	}
	err = forward(ctx, srv, room, user, op, req, target)
	return resp, true, err
}

// forward asks the hosts of room, best first, to serve op for user, until
// one answers; a refusal (other than unavailable) is the room's answer and
// is passed on. It retries until ctx ends.
func forward(ctx context.Context, srv *Server, room, user, op string, req, resp any) error {
	body, err := parley.Marshal(req)
	if err != nil {
		return fmt.Errorf("forward %s: %w", op, err)
	}
	fr := transport.ForwardedRequest{User: user, Op: op, Body: body}
	var last error
	for {
		_, hosts, err := srv.node.RoomHosts(room)
		if err != nil {
			return fmt.Errorf("forward %s: %w", op, err)
		}
		for _, h := range hosts {
			actx, cancel := context.WithTimeout(ctx, forwardAttempt)
			err := srv.peers.call(actx, h, transport.OpForward, fr, resp)
			cancel()
			if err == nil {
				return nil
			}
			var te *transport.Error
			if errors.As(err, &te) && te.Code != transport.CodeUnavailable {
				return te
			}
			last = err
			if ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("forward %s to the hosts of %s: %w: %w", op, room, parley.ErrUnavailable, errors.Join(last, ctx.Err()))
		case <-time.After(forwardRetry):
		}
	}
}

// forwarded serves a request another node forwarded for one of its users.
func (ss *session) forwarded(ctx context.Context, id uint64, r transport.ForwardedRequest) (any, error) {
	if !ss.peerNode {
		return nil, transport.Errorf(transport.CodeForbidden, "forward is asked by nodes only")
	}
	if !forwardable[r.Op] {
		return nil, transport.Errorf(transport.CodeInvalid, "forward: %q cannot be forwarded", r.Op)
	}
	ctx = context.WithValue(ctx, forwardedKey{}, true)
	return ss.dispatch(ctx, r.User, transport.Request{ID: id, Op: r.Op, Body: r.Body})
}

// call makes one request of node n on its peer connection.
func (p *peers) call(ctx context.Context, n chatcore.NodeRecord, op string, req, resp any) error {
	pc, err := p.conn(n.ID)
	if err != nil {
		return err
	}
	return pc.call(ctx, n.ClientAddr, op, req, resp)
}
