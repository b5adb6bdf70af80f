package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
	"github.com/quic-go/quic-go"
)

// QUIC error codes the client uses when it ends a connection or stops
// reading a subscription stream.
const (
	closeNormal     quic.ApplicationErrorCode = 0
	streamCancelled quic.StreamErrorCode      = 0
)

// errConnLost marks a request that failed because its connection died; it
// is retried on the next connection.
var errConnLost = errors.New("connection lost")

// conn is one QUIC connection to one node: the control stream with its
// requests in flight, and the subscription streams the node opens.
type conn struct {
	c    *Client
	qc   *quic.Conn
	ctl  *quic.Stream
	fr   *transport.FrameReader
	addr string
	node transport.NodeInfo
	lv   *liveness // marked by every read of the connection's streams

	ids   atomic.Uint64
	wmu   sync.Mutex    // serialises frames written on ctl
	pings atomic.Uint64 // pings sent, for tests
	pongs atomic.Uint64 // pings answered, for tests

	mu      sync.Mutex
	pending map[uint64]chan transport.Response // by request id
	streams map[uint64]chan *subStream         // by subscription id
	dead    bool
	err     error // why the connection died; set before done closes

	done chan struct{}
	once sync.Once
}

// newConn wraps a connection after its handshake. fr must read ctl through
// lv.reader, so that responses count as signs of life.
func newConn(c *Client, qc *quic.Conn, ctl *quic.Stream, fr *transport.FrameReader, lv *liveness, addr string, node transport.NodeInfo) *conn {
	return &conn{
		c:       c,
		qc:      qc,
		ctl:     ctl,
		fr:      fr,
		lv:      lv,
		addr:    addr,
		node:    node,
		pending: make(map[uint64]chan transport.Response),
		streams: make(map[uint64]chan *subStream),
		done:    make(chan struct{}),
	}
}

// start runs the response reader, the stream acceptor and, unless it is
// off, the liveness probe. The caller must be a counted goroutine of the
// Client, or Dial.
func (cn *conn) start() {
	cn.c.wg.Add(2)
	go cn.readLoop()
	go cn.acceptLoop()
	if cn.c.probeEvery > 0 {
		cn.c.wg.Add(1)
		go cn.probe(cn.c.probeEvery, cn.c.probeTimeout)
	}
}

// fail ends the connection for err, once. Requests in flight on it return
// an error wrapping errConnLost.
func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.c.detach(cn)
		cn.mu.Lock()
		cn.dead = true
		cn.err = err
		cn.mu.Unlock()
		close(cn.done)
		cn.qc.CloseWithError(closeNormal, "")
	})
}

// lostErr is the error of a request cut by the connection's death.
func (cn *conn) lostErr() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return fmt.Errorf("%w: %s: %w", errConnLost, cn.addr, cn.err)
}

// call sends one request and waits for its response, decoding the body into
// resp (if not nil). A refusal by the node is returned as its
// *transport.Error.
func (cn *conn) call(ctx context.Context, op string, req, resp any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	body, err := parley.Marshal(req)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	id := cn.ids.Add(1)
	ch := make(chan transport.Response, 1)
	cn.mu.Lock()
	if cn.dead {
		cn.mu.Unlock()
		return cn.lostErr()
	}
	cn.pending[id] = ch
	cn.mu.Unlock()
	defer func() {
		cn.mu.Lock()
		delete(cn.pending, id)
		cn.mu.Unlock()
	}()

	if err := cn.write(transport.Request{ID: id, Op: op, Body: body}); err != nil {
		return err
	}
	select {
	case r := <-ch:
		return decodeResponse(r, resp)
	case <-cn.done:
		select {
		case r := <-ch:
			return decodeResponse(r, resp)
		default:
			return cn.lostErr()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func decodeResponse(r transport.Response, resp any) error {
	if r.Error != nil {
		return r.Error
	}
	if resp == nil {
		return nil
	}
	if err := parley.Unmarshal(r.Body, resp); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return nil
}

// write writes one frame on the control stream. A frame too large is
// refused before anything is written; any other failure leaves the stream
// unusable and ends the connection.
//
// The write is not bounded by ctx: a deadline could cut a frame in half
// and so kill the connection under every other request. It blocks only
// while QUIC flow control holds it, that is while the node is not reading
// its control stream at all, and the connection's death releases it.
func (cn *conn) write(req transport.Request) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	err := transport.WriteFrame(cn.ctl, req, transport.DefaultMaxFrame)
	if err == nil {
		return nil
	}
	if errors.Is(err, transport.ErrFrameTooLarge) {
		return transport.Errorf(transport.CodeTooLarge, "request of %d bytes exceeds the %d-byte frame limit",
			len(req.Body), transport.DefaultMaxFrame)
	}
	cn.fail(fmt.Errorf("control stream: %w", err))
	return cn.lostErr()
}

// readLoop dispatches responses to the requests waiting for them.
func (cn *conn) readLoop() {
	defer cn.c.wg.Done()
	for {
		var r transport.Response
		if err := cn.fr.Read(&r); err != nil {
			cn.fail(fmt.Errorf("control stream: %w", err))
			return
		}
		cn.mu.Lock()
		ch := cn.pending[r.ID]
		delete(cn.pending, r.ID)
		cn.mu.Unlock()
		if ch == nil {
			// The caller gave up (its context ended).
			cn.c.log.Debug("response to no pending request", "id", r.ID, "addr", cn.addr)
			continue
		}
		ch <- r
	}
}

// acceptLoop takes the subscription streams the node opens.
func (cn *conn) acceptLoop() {
	defer cn.c.wg.Done()
	for {
		rs, err := cn.qc.AcceptUniStream(context.Background())
		if err != nil {
			cn.fail(fmt.Errorf("accept stream: %w", err))
			return
		}
		cn.c.wg.Add(1)
		go cn.readHeader(rs)
	}
}

// readHeader reads a subscription stream's header and hands the stream to
// the subscription waiting for it.
func (cn *conn) readHeader(rs *quic.ReceiveStream) {
	defer cn.c.wg.Done()
	st := &subStream{rs: rs, fr: transport.NewFrameReader(cn.lv.reader(rs), transport.DefaultMaxFrame)}
	rs.SetReadDeadline(time.Now().Add(streamWait))
	var h transport.SubscribeHeader
	if err := st.fr.Read(&h); err != nil {
		cn.c.log.Debug("subscription stream without header", "addr", cn.addr, "err", err)
		st.cancel()
		return
	}
	rs.SetReadDeadline(time.Time{})
	cn.route(h.Sub, st)
}

// expectStream registers a subscription id before it is requested, so that
// its stream finds its way whenever it arrives.
func (cn *conn) expectStream(sub uint64) (chan *subStream, error) {
	ch := make(chan *subStream, 1)
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.dead {
		return nil, fmt.Errorf("%w: %s: %w", errConnLost, cn.addr, cn.err)
	}
	cn.streams[sub] = ch
	return ch, nil
}

// dropStream withdraws a registration, cancelling the stream if it has
// arrived meanwhile.
func (cn *conn) dropStream(sub uint64, ch chan *subStream) {
	cn.mu.Lock()
	delete(cn.streams, sub)
	var st *subStream
	select {
	case st = <-ch:
	default:
	}
	cn.mu.Unlock()
	if st != nil {
		st.cancel()
	}
}

// route hands a stream to its subscription; a stream nobody waits for is
// cancelled, which tells the node to stop sending.
func (cn *conn) route(sub uint64, st *subStream) {
	cn.mu.Lock()
	ch, ok := cn.streams[sub]
	if ok {
		delete(cn.streams, sub)
		ch <- st
	}
	cn.mu.Unlock()
	if !ok {
		cn.c.log.Debug("subscription stream nobody waits for", "sub", sub, "addr", cn.addr)
		st.cancel()
	}
}

// subStream is one subscription stream after its header.
type subStream struct {
	rs *quic.ReceiveStream
	fr *transport.FrameReader
}

// cancel stops reading: the node sees the stream cancelled and drops the
// subscription. It may be called more than once, concurrently with a read.
func (s *subStream) cancel() {
	if s.rs == nil {
		return // a stream made of bytes, in a unit test
	}
	s.rs.CancelRead(streamCancelled)
	s.rs.ReleaseStreamCredit()
}
