package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// webEventBytes is how many bytes of events one WebSocket message gathers.
const webEventBytes = 64 << 10

var webCloseCodes = map[closeKind]websocket.StatusCode{
	closeKindNormal: websocket.StatusNormalClosure, closeKindProtocol: websocket.StatusPolicyViolation,
	closeKindAuth: websocket.StatusCode(4001), closeKindShutdown: websocket.StatusGoingAway,
}

// serveWebSocket upgrades a browser's request on /ws to a session. Only
// the cluster's own web origins may connect (see allowedOrigin).
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !s.allowedOrigin(r) {
		http.Error(w, "websocket: origin not of this cluster", http.StatusForbidden)
		return
	}
	// A browser's socket counts against the same caps as a QUIC
	// connection: the caps bound sessions, whatever carries them.
	ip := remoteIP(r.RemoteAddr)
	if err := s.connCap.acquire(ip); err != nil {
		s.log.Debug("websocket refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "websocket: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.connCap.release(ip)
	// The origin is checked above, against every node's address, which
	// the library's same-host check cannot know.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("websocket accept", "err", err)
		return
	}
	ws.SetReadLimit(transport.MaxWebFrame)
	ctx, cancel := context.WithCancel(s.ctx)
	wc := &webCarrier{srv: s, ws: ws, ctx: ctx, cancel: cancel, addr: r.RemoteAddr, helloTimeout: s.cfg.HelloTimeout, subs: make(map[uint64]chan struct{})}
	if c, err := r.Cookie(sessionCookie); err == nil {
		wc.cookieToken = c.Value
	}
	s.mu.Lock()
	s.sockets[wc] = struct{}{}
	s.mu.Unlock()
	s.wg.Add(1)
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.sockets, wc)
		s.mu.Unlock()
		wc.close(closeKindNormal, "", false)
	}()
	newSession(s, wc).serve()
}

// webCarrier is a session on a browser's WebSocket: JSON frames (see
// transport.WebClientFrame), subscription events multiplexed on the one
// socket.
type webCarrier struct {
	srv         *Server
	ws          *websocket.Conn
	ctx         context.Context
	cancel      context.CancelFunc
	addr        string
	cookieToken string
	// helloTimeout bounds the time from the upgrade to the hello.
	helloTimeout time.Duration
	// anonIdle, once set by limitAnonymous, bounds the wait for each
	// request of a session that did not log in.
	anonIdle time.Duration

	mu   sync.Mutex
	subs map[uint64]chan struct{}
}

func (c *webCarrier) context() context.Context { return c.ctx }

func (c *webCarrier) remote() string { return c.addr }

func (c *webCarrier) peerNode() bool { return false }

// read reads and decodes the next frame. A closed socket reads as io.EOF.
func (c *webCarrier) read(ctx context.Context) (transport.WebClientFrame, error) {
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			return transport.WebClientFrame{}, io.EOF
		}
		return transport.WebClientFrame{}, err
	}
	return transport.DecodeWebFrame(data)
}

// readHello reads the hello. A browser on this node's own origin may
// leave out its credentials: the session cookie then stands for them.
func (c *webCarrier) readHello(h *transport.Hello) error {
	f, late, err := c.readWithin(c.helloTimeout, fmt.Sprintf("no hello within %v", c.helloTimeout))
	if err != nil {
		if late {
			return fmt.Errorf("web: no hello within %v: %w", c.helloTimeout, err)
		}
		return err
	}
	if f.Hello == nil {
		return fmt.Errorf("web: the first frame must be a hello: %w", parley.ErrMalformed)
	}
	*h = *f.Hello
	if h.Token == "" && h.Password == "" && c.cookieToken != "" {
		ctx, cancel := context.WithTimeout(c.ctx, c.helloTimeout)
		user, err := c.srv.node.CheckSessionToken(ctx, c.cookieToken)
		cancel()
		if err == nil && (h.User == "" || h.User == user) {
			h.User, h.Token = user, c.cookieToken
		}
	}
	return nil
}

// limitAnonymous bounds a session that did not log in (see anonLimiter):
// smaller messages, and a deadline on each wait for a request.
func (c *webCarrier) limitAnonymous(maxFrame int, idle time.Duration) {
	c.ws.SetReadLimit(int64(maxFrame))
	c.anonIdle = idle
}

// readFrame reads the next frame, within anonIdle once that is set.
func (c *webCarrier) readFrame() (transport.WebClientFrame, error) {
	if c.anonIdle <= 0 {
		return c.read(c.ctx)
	}
	f, idle, err := c.readWithin(c.anonIdle, errAnonIdle.Error())
	if err != nil && idle {
		return f, errAnonIdle
	}
	return f, err
}

// readWithin reads the next frame. If none came within d it closes the
// socket with reason, which the browser can show, and reports late.
func (c *webCarrier) readWithin(d time.Duration, reason string) (f transport.WebClientFrame, late bool, err error) {
	var fired atomic.Bool
	t := time.AfterFunc(d, func() {
		fired.Store(true)
		c.ws.Close(websocket.StatusPolicyViolation, reason)
	})
	defer t.Stop()
	f, err = c.read(c.ctx)
	return f, err != nil && fired.Load(), err
}

func (c *webCarrier) readRequest(req *transport.Request) error {
	for {
		f, err := c.readFrame()
		if err != nil {
			return err
		}
		switch {
		case f.Hello != nil:
			return fmt.Errorf("web: a second hello: %w", parley.ErrMalformed)
		case f.Unsub != 0:
			c.unsubscribe(f.Unsub)
			continue
		}
		*req = transport.Request{ID: f.ID, Op: f.Op, Body: []byte(f.Body)}
		return nil
	}
}

func (c *webCarrier) decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	return transport.DecodeWebBody(body, v)
}

func (c *webCarrier) write(b []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, requestTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c *webCarrier) writeFrame(f transport.WebServerFrame) error {
	b, err := transport.EncodeWebFrame(f, transport.DefaultMaxFrame)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *webCarrier) writeWelcome(w transport.Welcome) error {
	return c.writeFrame(transport.WebServerFrame{Welcome: &w})
}

func (c *webCarrier) writeResponse(id uint64, body any, e *transport.Error) error {
	resp := &transport.WebResponse{ID: id, Error: e}
	if e == nil {
		resp.Body = body
	}
	err := c.writeFrame(transport.WebServerFrame{Resp: resp})
	if errors.Is(err, transport.ErrFrameTooLarge) {
		err = c.writeFrame(transport.WebServerFrame{Resp: &transport.WebResponse{ID: id, Error: transport.Errorf(transport.CodeTooLarge, "response: %v", err)}})
	}
	return err
}

func (c *webCarrier) close(kind closeKind, reason string, linger bool) {
	// The close handshake itself gives the browser the time to read what
	// came before it, so linger needs nothing more.
	c.ws.Close(webCloseCodes[kind], reason)
	c.cancel()
}

func (c *webCarrier) openSub(ctx context.Context, id uint64) (eventSink, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.subs[id]; dup {
		return nil, fmt.Errorf("web: subscription %d is already open", id)
	}
	done := make(chan struct{})
	c.subs[id] = done
	return &webSink{c: c, id: id, doneCh: done}, nil
}

// unsubscribe ends subscription id at the browser's request.
func (c *webCarrier) unsubscribe(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if done, ok := c.subs[id]; ok {
		close(done)
		delete(c.subs, id)
	}
}

// webSink is one subscription's events on the shared socket, each frame
// tagged with the subscription's id.
type webSink struct {
	c      *webCarrier
	id     uint64
	doneCh chan struct{}
	buf    []byte
}

// messages writes JSON events; the shared CBOR frames are not for it.
func (s *webSink) messages(msgs []parley.Message, _ *roomFrames) error {
	s.buf = s.buf[:0]
	n := 0
	for i := range msgs {
		ev, err := json.Marshal(transport.Event{Msg: &msgs[i]})
		if err != nil {
			return fmt.Errorf("web: %w", err)
		}
		if n == 0 {
			s.buf = append(s.buf, `{"sub":`...)
			s.buf = strconv.AppendUint(s.buf, s.id, 10)
			s.buf = append(s.buf, `,"events":[`...)
		} else {
			s.buf = append(s.buf, ',')
		}
		s.buf = append(s.buf, ev...)
		n++
		if len(s.buf) >= webEventBytes || i == len(msgs)-1 {
			s.buf = append(s.buf, "]}"...)
			if err := s.c.write(s.buf); err != nil {
				return err
			}
			s.buf, n = s.buf[:0], 0
		}
	}
	return nil
}

func (s *webSink) fail(e *transport.Error) {
	s.c.writeFrame(transport.WebServerFrame{Sub: s.id, Events: []transport.Event{{Error: e}}})
}

func (s *webSink) done() <-chan struct{} { return s.doneCh }

func (s *webSink) close() {
	s.c.unsubscribe(s.id)
}
