package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
	"github.com/quic-go/quic-go"
)

// QUIC error codes the protocol client uses when it ends a connection or
// stops reading a server stream.
const (
	closeNormal     quic.ApplicationErrorCode = 0
	streamCancelled quic.StreamErrorCode      = 0
)

// DefaultStreamHeaderWait is the default of ConnectOptions.StreamHeaderWait.
const DefaultStreamHeaderWait = 10 * time.Second

// ErrConnLost is wrapped by the error of every call, and of every wait for
// a server stream, that a connection's end cut short: the request may be
// retried on another connection.
var ErrConnLost = errors.New("connection lost")

// ErrConnClosed is the reason of a connection its owner closed.
var ErrConnClosed = errors.New("connection closed")

// ConnectOptions configures Connect.
type ConnectOptions struct {
	// TLS is the client's TLS configuration (ClientTLSConfig,
	// FingerprintTLSConfig, NodeClientTLSConfig, Trust.TLSConfig); the
	// Parley ALPN and TLS 1.3 are forced on a clone of it. Required.
	TLS *tls.Config
	// Hello is the first frame on the control stream. Version defaults to
	// ProtocolVersion; with no User it is an anonymous hello.
	Hello Hello
	// PacketConn, if set, makes the UDP socket of the connection to addr
	// (in tests, one that loses packets on purpose); the connection owns
	// it. Default: a socket of the connection's own.
	PacketConn func(addr string) (net.PacketConn, error)
	// WrapRead, if set, wraps the reader of every stream the connection
	// reads (the control stream and each server stream), say to learn when
	// data last arrived.
	WrapRead func(io.Reader) io.Reader
	// OnClose, if set, is called once when the connection ends, before its
	// pending calls fail and before Done is closed, with the reason.
	OnClose func(err error)
	// StreamHeaderWait bounds how long a server stream may take to send its
	// header. Default DefaultStreamHeaderWait.
	StreamHeaderWait time.Duration
	// Logger receives debug lines about stray responses and streams.
	// Default: discard.
	Logger *slog.Logger
	// HandshakeTimeout, if set, bounds the QUIC handshake alone (not the
	// hello): a node answers it in milliseconds, so an address where it
	// times out has no node, and Connect's error wraps ErrNoAnswer.
	HandshakeTimeout time.Duration
}

// ErrNoAnswer is wrapped by Connect's error when nothing answered the QUIC
// handshake at the address.
var ErrNoAnswer = errors.New("no answer")

// Conn is one protocol connection to one node, after a welcomed hello: the
// control stream with requests in flight, matched to their responses by
// id, and the server streams the node opens, matched to their waiters by
// the id in their header. It is safe for concurrent use: any number of
// calls may be in flight at once. When it ends, by Close, by Fail or
// because the node or the network went away, every pending call and stream
// wait returns an error wrapping ErrConnLost.
type Conn struct {
	qc      *quic.Conn
	ctl     *quic.Stream
	fr      *FrameReader
	addr    string
	wrap    func(io.Reader) io.Reader
	onClose func(error)
	hdrWait time.Duration
	log     *slog.Logger

	ids atomic.Uint64
	wmu sync.Mutex // serialises frames written on ctl

	mu      sync.Mutex
	pending map[uint64]chan Response // by request id
	streams map[uint64]chan *Stream  // by stream id
	dead    bool
	err     error // why the connection ended; set before done closes

	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup // the connection's goroutines
}

// Connect dials addr, says opts.Hello on a new control stream and reads the
// welcome. ctx bounds the dial and the exchange only. A refusal by the
// node is returned as the welcome's *Error, wrapped as "hello <addr>: "; a
// CA pinning failure wraps ErrCAChanged or ErrUnknownCA. On success the
// connection reads responses and accepts server streams until it ends;
// release it with Close.
func Connect(ctx context.Context, addr string, opts ConnectOptions) (*Conn, Welcome, error) {
	var w Welcome
	var qc *quic.Conn
	var err error
	dctx, dcancel := ctx, context.CancelFunc(func() {})
	if opts.HandshakeTimeout > 0 {
		dctx, dcancel = context.WithTimeout(ctx, opts.HandshakeTimeout)
	}
	if opts.PacketConn == nil {
		qc, err = Dial(dctx, addr, opts.TLS)
	} else {
		var pc net.PacketConn
		if pc, err = opts.PacketConn(addr); err != nil {
			dcancel()
			return nil, w, fmt.Errorf("dial %s: %w", addr, err)
		}
		qc, err = DialWith(dctx, pc, addr, opts.TLS)
	}
	silent := dctx.Err() != nil && ctx.Err() == nil
	dcancel()
	if err != nil {
		var idle *quic.IdleTimeoutError
		var hs *quic.HandshakeTimeoutError
		if silent || errors.As(err, &idle) || errors.As(err, &hs) {
			return nil, w, fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		return nil, w, err // already "dial <addr>: ..."
	}
	c := &Conn{
		qc:      qc,
		addr:    addr,
		wrap:    opts.WrapRead,
		onClose: opts.OnClose,
		hdrWait: opts.StreamHeaderWait,
		log:     opts.Logger,
		pending: make(map[uint64]chan Response),
		streams: make(map[uint64]chan *Stream),
		done:    make(chan struct{}),
	}
	if c.wrap == nil {
		c.wrap = func(r io.Reader) io.Reader { return r }
	}
	if c.hdrWait <= 0 {
		c.hdrWait = DefaultStreamHeaderWait
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	hello := opts.Hello
	if hello.Version == 0 {
		hello.Version = ProtocolVersion
	}
	if w, err = c.hello(ctx, hello); err != nil {
		qc.CloseWithError(closeNormal, "")
		return nil, w, fmt.Errorf("hello %s: %w", addr, err)
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.acceptLoop()
	return c, w, nil
}

// hello opens the control stream, writes hello and reads the welcome. A
// refusal is returned as the welcome's *Error.
func (c *Conn) hello(ctx context.Context, hello Hello) (Welcome, error) {
	var w Welcome
	ctl, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		return w, fmt.Errorf("control stream: %w", err)
	}
	// Unblock the exchange when ctx ends.
	stop := context.AfterFunc(ctx, func() { ctl.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fr := NewFrameReader(c.wrap(ctl), DefaultMaxFrame)
	err = WriteFrame(ctl, hello, DefaultMaxFrame)
	if err == nil {
		err = fr.Read(&w)
	}
	if !stop() {
		// ctx ended: whatever err says, the deadline may be set.
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
	if err != nil {
		return w, fmt.Errorf("welcome: %w", err)
	}
	if w.Error != nil {
		return w, w.Error
	}
	c.ctl, c.fr = ctl, fr
	return w, nil
}

// Addr returns the address the connection was dialed to.
func (c *Conn) Addr() string { return c.addr }

// TLS returns the connection's TLS state; PeerCA(c.TLS()) is the CA the
// node presented.
func (c *Conn) TLS() tls.ConnectionState { return c.qc.ConnectionState().TLS }

// Done is closed when the connection has ended; Err then tells why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is alive.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Fail ends the connection for reason, once: OnClose is told, every
// pending call and stream wait returns an error wrapping ErrConnLost and
// reason, and the QUIC connection is closed. Later calls do nothing.
func (c *Conn) Fail(reason error) {
	c.once.Do(func() {
		if c.onClose != nil {
			c.onClose(reason)
		}
		c.mu.Lock()
		c.dead = true
		c.err = reason
		c.mu.Unlock()
		close(c.done)
		c.qc.CloseWithError(closeNormal, "")
	})
}

// Close ends the connection (for ErrConnClosed) and waits for its
// goroutines. It always returns nil.
func (c *Conn) Close() error {
	c.Fail(ErrConnClosed)
	c.wg.Wait()
	return nil
}

// lostErr is the error of a call cut by the connection's end.
func (c *Conn) lostErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w: %s: %w", ErrConnLost, c.addr, c.err)
}

// Call sends one request of operation op with body req and waits for its
// response, decoding the body into resp (if not nil). A refusal by the
// node is returned as its *Error; a connection that ends first as an error
// wrapping ErrConnLost; a request over the frame limit as a too_large
// *Error, the connection unharmed. When ctx ends first Call returns
// ctx.Err() and a late response is dropped.
func (c *Conn) Call(ctx context.Context, op string, req, resp any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := c.ids.Add(1)
	ch := make(chan Response, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return c.lostErr()
	}
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	if err := c.writeRequest(id, op, req); err != nil {
		return err
	}
	select {
	case r := <-ch:
		return decodeResponse(r, resp)
	case <-c.done:
		select {
		case r := <-ch:
			return decodeResponse(r, resp)
		default:
			return c.lostErr()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decodeResponse returns the refusal r carries, or decodes its body into
// resp.
func decodeResponse(r Response, resp any) error {
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
// The write is not bounded by a context: a deadline could cut a frame in
// half and so kill the connection under every other request. It blocks
// only while QUIC flow control holds it, that is while the node is not
// reading its control stream at all, and the connection's end releases it.
func (c *Conn) writeRequest(id uint64, op string, body any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err := writeRequest(c.ctl, id, op, body, DefaultMaxFrame)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrFrameTooLarge) {
		return Errorf(CodeTooLarge, "request exceeds the %d-byte frame limit: %v", DefaultMaxFrame, err)
	}
	if errors.Is(err, ErrEncode) {
		// Nothing was written: the body could not be encoded.
		return fmt.Errorf("request: %w", err)
	}
	c.Fail(fmt.Errorf("control stream: %w", err))
	return c.lostErr()
}

// readLoop hands each response to the call waiting for it.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		var r Response
		if err := c.fr.Read(&r); err != nil {
			c.Fail(fmt.Errorf("control stream: %w", err))
			return
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		delete(c.pending, r.ID)
		c.mu.Unlock()
		if ch == nil {
			// The caller gave up (its context ended), or the node is
			// confused: nobody waits for this id.
			c.log.Debug("response to no pending request", "id", r.ID, "addr", c.addr)
			continue
		}
		ch <- r
	}
}
