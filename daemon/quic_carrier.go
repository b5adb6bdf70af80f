package daemon

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// QUIC application error codes the server closes connections with.
const (
	closeNormal   quic.ApplicationErrorCode = 0
	closeProtocol quic.ApplicationErrorCode = 1
	closeAuth     quic.ApplicationErrorCode = 2
	closeShutdown quic.ApplicationErrorCode = 3
	// closeBusy refuses a connection over the node's connection caps.
	closeBusy quic.ApplicationErrorCode = 4
)

var quicCloseCodes = map[closeKind]quic.ApplicationErrorCode{
	closeKindNormal: closeNormal, closeKindProtocol: closeProtocol,
	closeKindAuth: closeAuth, closeKindShutdown: closeShutdown,
}

// quicCarrier is the QUIC protocol: the client's first bidirectional stream
// is the control stream, and each subscription gets a server-opened
// unidirectional stream, so one busy room never blocks another.
type quicCarrier struct {
	conn    *quic.Conn
	ctrl    *quic.Stream
	reader  *transport.FrameReader
	writeMu chan struct{}
	// helloTimeout bounds the time from the handshake to the hello.
	helloTimeout time.Duration
	// anonIdle, once set by limitAnonymous, bounds the wait for each
	// request.
	anonIdle time.Duration
}

func newQUICCarrier(conn *quic.Conn) *quicCarrier {
	return &quicCarrier{conn: conn, writeMu: make(chan struct{}, 1), helloTimeout: helloTimeout}
}

func (q *quicCarrier) context() context.Context { return q.conn.Context() }

func (q *quicCarrier) remote() string { return q.conn.RemoteAddr().String() }

func (q *quicCarrier) peerNode() bool {
	return len(q.conn.ConnectionState().TLS.VerifiedChains) > 0
}

// readHello reads the hello with one deadline for the control stream and
// the hello on it, and a frame limit of maxHelloFrame.
func (q *quicCarrier) readHello(h *transport.Hello) error {
	deadline := time.Now().Add(q.helloTimeout)
	ctx, cancel := context.WithDeadline(q.conn.Context(), deadline)
	stream, err := q.conn.AcceptStream(ctx)
	cancel()
	if err != nil {
		return err
	}
	q.ctrl = stream
	q.reader = transport.NewFrameReader(stream, maxHelloFrame)
	stream.SetReadDeadline(deadline)
	if err := q.reader.Read(h); err != nil {
		return err
	}
	stream.SetReadDeadline(time.Time{})
	q.reader.SetMax(transport.DefaultMaxFrame)
	return nil
}

// limitAnonymous bounds a session that did not log in (see anonLimiter).
func (q *quicCarrier) limitAnonymous(maxFrame int, idle time.Duration) {
	q.reader.SetMax(maxFrame)
	q.anonIdle = idle
}

func (q *quicCarrier) readRequest(req *transport.Request) error {
	if q.anonIdle > 0 {
		q.ctrl.SetReadDeadline(time.Now().Add(q.anonIdle))
		if err := q.reader.Read(req); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return errAnonIdle
			}
			return err
		}
		return nil
	}
	return q.reader.Read(req)
}

func (q *quicCarrier) decode(body []byte, v any) error { return parley.Unmarshal(body, v) }

func (q *quicCarrier) write(v any) error {
	q.writeMu <- struct{}{}
	defer func() { <-q.writeMu }()
	q.ctrl.SetWriteDeadline(time.Now().Add(requestTimeout))
	return transport.WriteFrame(q.ctrl, v, transport.DefaultMaxFrame)
}

func (q *quicCarrier) writeWelcome(w transport.Welcome) error {
	if q.ctrl == nil {
		return errors.New("no control stream")
	}
	return q.write(w)
}

func (q *quicCarrier) writeResponse(id uint64, body any, e *transport.Error) error {
	q.writeMu <- struct{}{}
	defer func() { <-q.writeMu }()
	q.ctrl.SetWriteDeadline(time.Now().Add(requestTimeout))
	err := transport.WriteResponse(q.ctrl, id, body, e, transport.DefaultMaxFrame)
	switch {
	case errors.Is(err, transport.ErrFrameTooLarge):
		// Nothing was written: the frame is checked before it is sent.
		err = transport.WriteResponse(q.ctrl, id, nil, transport.Errorf(transport.CodeTooLarge, "response: %v", err), transport.DefaultMaxFrame)
	case errors.Is(err, transport.ErrEncode) && e == nil:
		// The body could not be encoded; nothing was written.
		err = transport.WriteResponse(q.ctrl, id, nil, transport.Errorf(transport.CodeInternal, "encode: %v", err), transport.DefaultMaxFrame)
	}
	return err
}

func (q *quicCarrier) close(kind closeKind, reason string, linger bool) {
	if linger && q.ctrl != nil {
		// The client closes first once it has read the reason.
		q.ctrl.Close()
		select {
		case <-q.conn.Context().Done():
		case <-time.After(refuseLinger):
		}
	}
	q.conn.CloseWithError(quicCloseCodes[kind], reason)
}

func (q *quicCarrier) openSub(ctx context.Context, id uint64) (eventSink, error) {
	stream, err := q.conn.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	if err := transport.WriteFrame(stream, transport.SubscribeHeader{Sub: id}, transport.DefaultMaxFrame); err != nil {
		stream.Close()
		return nil, err
	}
	return &quicSink{stream: stream}, nil
}

// quicSink is a subscription's own unidirectional stream.
type quicSink struct {
	stream *quic.SendStream
	buf    []byte
}

func (s *quicSink) messages(msgs []parley.Message, frames *roomFrames) error {
	s.stream.SetWriteDeadline(time.Now().Add(requestTimeout))
	var err error
	s.buf, err = writeEvents(s.stream, s.buf[:0], msgs, frames)
	return err
}

func (s *quicSink) fail(e *transport.Error) {
	transport.WriteFrame(s.stream, transport.Event{Error: e}, transport.DefaultMaxFrame)
}

// done: a cancelled stream's context ends.
func (s *quicSink) done() <-chan struct{} { return s.stream.Context().Done() }

func (s *quicSink) close() { s.stream.Close() }
