package daemon

import "github.com/parleychat/parley/transport"

// ping answers an OpPing on the session's read loop, at once. It touches
// neither Raft nor the disk, takes no token from the rate limit and no
// in-flight slot: a client pings when it has heard nothing for a while,
// and a node busy with its requests or refusing them as rate_limited is
// still alive and must say so. A flood of pings costs the node no more
// than a flood of rate-limited requests, each of which the read loop
// answers too. Any welcomed session may ping, an anonymous one too.
//
// The control stream is read in order, so a ping sent behind maxInFlight
// requests that all wait (say, on an election) waits for a slot with them:
// such a client may give the node up and retry elsewhere, which is safe.
//
// A body that is not a PingRequest is refused as invalid; the session
// goes on.
func (ss *session) ping(req transport.Request) {
	if len(req.Body) > 0 {
		var r transport.PingRequest
		if err := ss.decodeBody(req, &r); err != nil {
			ss.respond(req.ID, nil, wireError(err))
			return
		}
	}
	ss.respond(req.ID, nil, nil)
}
