package client

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/parleychat/parley/transport"
)

// errConnLost marks a request that failed because its connection died; it
// is retried on the next connection.
var errConnLost = transport.ErrConnLost

// conn is the Client's one protocol connection to one node, with what the
// Client keeps about it: the node, and the counts of its liveness probe.
type conn struct {
	c    *Client
	tc   *transport.Conn // nil until the handshake completes
	addr string
	node transport.NodeInfo
	lv   *liveness // marked by every read of the connection's streams
	done <-chan struct{}

	pings atomic.Uint64 // pings sent, for tests
	pongs atomic.Uint64 // pings answered, for tests
}

// start runs, unless it is off, the liveness probe. The caller must be a
// counted goroutine of the Client, or Dial.
func (cn *conn) start() {
	if cn.c.probeEvery > 0 {
		cn.c.wg.Add(1)
		go cn.probe(cn.c.probeEvery, cn.c.probeTimeout)
	}
}

// fail ends the connection for err, once, and waits for its goroutines.
// Requests in flight on it return an error wrapping errConnLost.
func (cn *conn) fail(err error) {
	cn.tc.Fail(err)
	cn.tc.Close()
}

// call sends one request and waits for its response, decoding the body into
// resp (if not nil). A refusal by the node is returned as its
// *transport.Error.
func (cn *conn) call(ctx context.Context, op string, req, resp any) error {
	return cn.tc.Call(ctx, op, req, resp)
}

// subStream is one subscription stream after its header.
type subStream struct {
	st *transport.Stream // nil for a stream made of bytes, in a unit test
	fr *transport.FrameReader
}

// newSubStream wraps a stream the node opened.
func newSubStream(st *transport.Stream) *subStream {
	return &subStream{st: st, fr: st.Frames()}
}

// cancel stops reading: the node sees the stream cancelled and drops the
// subscription. It may be called more than once, concurrently with a read.
func (s *subStream) cancel() {
	if s.st != nil {
		s.st.Cancel()
	}
}

// awaitStream waits up to streamWait for the stream of a confirmed
// subscription.
func (cn *conn) awaitStream(ctx context.Context, w *transport.StreamWait, room string) (*subStream, error) {
	wctx, cancel := context.WithTimeout(ctx, streamWait)
	defer cancel()
	st, err := w.Wait(wctx)
	switch {
	case err == nil:
		return newSubStream(st), nil
	case ctx.Err() == nil && wctx.Err() != nil:
		return nil, fmt.Errorf("%w: room %s, %s", errStreamTimeout, room, cn.addr)
	}
	return nil, err
}
