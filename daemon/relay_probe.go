package daemon

import (
	"context"
	"time"

	"github.com/parleychat/parley/transport"
)

// How a relay notices that its upstream node is gone. A node killed
// outright closes nothing, and QUIC's idle timeout takes seconds, as do
// its heartbeats to fall silent. A relay pings its upstream connection
// every relayProbeInterval (OpPing is answered at once, outside Raft and
// the rate limit, so a busy node still answers) and gives the node up when
// a ping goes unanswered for relayProbeTimeout, when the connection ends,
// or when the node's heartbeats stop.
const (
	relayProbeInterval = 250 * time.Millisecond
	relayProbeTimeout  = time.Second
)

// watchUpstream calls lost once the upstream of one relayed subscription
// on tc, to node, is gone, and drops the peer connection if it is, so the
// next subscription dials afresh; it returns when ctx ends or after lost.
func (r *relay) watchUpstream(ctx context.Context, pc *peerConn, tc *transport.Conn, node uint64, lost func()) {
	probe := time.NewTicker(relayProbeInterval)
	defer probe.Stop()
	lastBeat := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tc.Done():
			r.rs.srv.log.Debug("relay: upstream connection ended", "room", r.room, "node", node, "err", tc.Err())
			lost()
			return
		case <-probe.C:
		}
		pctx, cancel := context.WithTimeout(ctx, relayProbeTimeout)
		err := tc.Call(pctx, transport.OpPing, transport.PingRequest{}, nil)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.rs.srv.log.Debug("relay: upstream does not answer pings", "room", r.room, "node", node, "err", err)
			pc.drop(tc)
			lost()
			return
		}
		if now := time.Now(); now.Sub(lastBeat) >= time.Second {
			lastBeat = now
			if !r.rs.srv.node.NodeUp(node) {
				lost()
				return
			}
		}
	}
}
