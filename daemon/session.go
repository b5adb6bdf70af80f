package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
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
)

const (
	helloTimeout = 10 * time.Second
	// maxInFlight bounds the requests one connection may have running.
	maxInFlight = 256
	// requestTimeout bounds one request on the server side.
	requestTimeout = 30 * time.Second
	// refuseLinger is how long a refused connection stays open for the
	// client to read why.
	refuseLinger = 2 * time.Second
)

// session is one client connection: a control stream carrying requests and
// responses, and one server-opened stream per subscription.
type session struct {
	srv  *Server
	conn *quic.Conn
	log  *slog.Logger
	user string // "" for an anonymous (joining or peer node) session
	// peerNode is set for an anonymous session whose TLS client
	// certificate the cluster CA signed: another node of the cluster.
	peerNode bool
	// welcomed is set once the welcome is written; only the serve
	// goroutine touches it.
	welcomed bool

	ctrl    *quic.Stream
	writeMu sync.Mutex
	limit   *tokenBucket
	slots   chan struct{}
	wg      sync.WaitGroup
}

func newSession(s *Server, conn *quic.Conn) *session {
	return &session{
		srv: s, conn: conn,
		log:   s.log.With("remote", conn.RemoteAddr().String()),
		limit: newTokenBucket(s.cfg.RequestsPerSecond),
		slots: make(chan struct{}, maxInFlight),
	}
}

func (ss *session) serve() {
	ctx := ss.conn.Context()
	defer ss.wg.Wait()
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	stream, err := ss.conn.AcceptStream(hctx)
	cancel()
	if err != nil {
		ss.conn.CloseWithError(closeProtocol, "no control stream")
		return
	}
	ss.ctrl = stream
	reader := transport.NewFrameReader(stream, transport.DefaultMaxFrame)
	stream.SetReadDeadline(time.Now().Add(helloTimeout))
	var hello transport.Hello
	if err := reader.Read(&hello); err != nil {
		if e := inputError(err); e != nil {
			ss.refuse(closeProtocol, e)
		} else {
			ss.conn.CloseWithError(closeProtocol, "no hello")
		}
		return
	}
	stream.SetReadDeadline(time.Time{})
	welcome, err := ss.authenticate(ctx, hello)
	if err != nil {
		ss.refuse(closeAuth, wireError(err))
		return
	}
	if err := ss.write(welcome); err != nil {
		return
	}
	ss.welcomed = true
	if ss.user != "" {
		// Online from the welcome until the control stream ends (a close,
		// a lost connection, the QUIC idle timeout), not until the
		// session's last request is done.
		ss.srv.presence.add(ss.user)
		defer ss.srv.presence.remove(ss.user)
	}
	for {
		var req transport.Request
		if err := reader.Read(&req); err != nil {
			ss.readFailed(err)
			return
		}
		if req.Op == transport.OpPing {
			// Before the rate limit and the in-flight slots: see ping.
			ss.ping(req)
			continue
		}
		// Another node's session carries the requests of many users, each
		// limited on their own connection there.
		if !ss.peerNode && !ss.limit.allow(time.Now()) {
			ss.respond(req.ID, nil, &transport.Error{Code: transport.CodeRateLimited, Message: "too many requests", RetryMillis: 100})
			continue
		}
		select {
		case ss.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		ss.wg.Add(1)
		go func() {
			defer ss.wg.Done()
			defer func() { <-ss.slots }()
			ss.handle(ctx, req)
		}()
	}
}

// readFailed ends the session after a control-stream read error: a clean
// end, a lost connection, or bad input, which is answered before closing.
func (ss *session) readFailed(err error) {
	if e := inputError(err); e != nil {
		ss.refuse(closeProtocol, e)
		return
	}
	if errors.Is(err, io.EOF) {
		ss.conn.CloseWithError(closeNormal, "bye")
		return
	}
	ss.log.Debug("session ended", "err", err)
}

// inputError is the answer to a frame that could not be read because of what
// the client sent, or nil if the read failed for another reason.
func inputError(err error) *transport.Error {
	switch {
	case errors.Is(err, transport.ErrFrameTooLarge):
		return transport.Errorf(transport.CodeTooLarge, "%v", err)
	case errors.Is(err, parley.ErrMalformed):
		return transport.Errorf(transport.CodeInvalid, "%v", err)
	}
	return nil
}

// refuse tells the client why and closes the connection. Before a welcome
// the reason goes in a Welcome, after it in a Response with id 0. The
// connection is closed only after the client has had the chance to read the
// reason (it closes first when it has), so the reason is never lost to the
// connection's close.
func (ss *session) refuse(code quic.ApplicationErrorCode, e *transport.Error) {
	if ss.ctrl != nil {
		var msg any = transport.Response{Error: e}
		if !ss.welcomed {
			msg = transport.Welcome{Error: e}
		}
		if ss.write(msg) == nil {
			ss.ctrl.Close()
			select {
			case <-ss.conn.Context().Done():
			case <-time.After(refuseLinger):
			}
		}
	}
	ss.conn.CloseWithError(code, e.Error())
}

func (ss *session) write(v any) error {
	ss.writeMu.Lock()
	defer ss.writeMu.Unlock()
	ss.ctrl.SetWriteDeadline(time.Now().Add(requestTimeout))
	return transport.WriteFrame(ss.ctrl, v, transport.DefaultMaxFrame)
}

func (ss *session) respond(id uint64, body any, e *transport.Error) {
	resp := transport.Response{ID: id, Error: e}
	if e == nil && body != nil {
		raw, err := parley.Marshal(body)
		if err != nil {
			resp.Error = transport.Errorf(transport.CodeInternal, "encode: %v", err)
		} else {
			resp.Body = raw
		}
	}
	err := ss.write(resp)
	if errors.Is(err, transport.ErrFrameTooLarge) {
		// Nothing was written: the frame is checked before it is sent.
		err = ss.write(transport.Response{ID: id, Error: transport.Errorf(transport.CodeTooLarge, "response: %v", err)})
	}
	if err != nil {
		ss.log.Debug("write response", "err", err)
	}
}

// authenticate checks a hello and builds the welcome.
func (ss *session) authenticate(ctx context.Context, h transport.Hello) (transport.Welcome, error) {
	node := ss.srv.node
	if h.Version != transport.ProtocolVersion {
		return transport.Welcome{}, transport.Errorf(transport.CodeInvalid, "protocol version %d, this server speaks %d", h.Version, transport.ProtocolVersion)
	}
	w := transport.Welcome{ClusterID: node.ClusterID(), NodeID: node.ID(), Nodes: ss.srv.nodeInfos()}
	if h.User == "" {
		// Anonymous: a node joining the cluster, or a node of the cluster
		// (proved by its client certificate) asking for presence.
		ss.peerNode = len(ss.conn.ConnectionState().TLS.VerifiedChains) > 0
		return w, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if h.Token != "" {
		user, err := node.CheckSessionToken(h.Token)
		if err != nil {
			return w, err
		}
		if user != h.User {
			return w, fmt.Errorf("session token is for another user: %w", parley.ErrUnauthorized)
		}
	} else if err := node.Login(ctx, h.User, h.Password); err != nil {
		return w, err
	}
	tok, err := node.IssueSessionToken(h.User)
	if err != nil {
		return w, err
	}
	ss.user, w.Token = h.User, tok
	ss.log = ss.log.With("user", h.User)
	return w, nil
}

// nodeInfos lists every node's client address from the registry.
func (s *Server) nodeInfos() []transport.NodeInfo {
	recs, err := s.node.Nodes()
	if err != nil {
		return nil
	}
	out := make([]transport.NodeInfo, len(recs))
	for i, r := range recs {
		out[i] = transport.NodeInfo{ID: r.ID, Name: r.Name, Addr: r.ClientAddr}
	}
	return out
}
