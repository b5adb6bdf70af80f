package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

const (
	// helloTimeout is the default time from a connection to its hello
	// (Config.HelloTimeout).
	helloTimeout = 10 * time.Second
	// maxHelloFrame bounds the first frame: a Hello is a name, a password
	// of at most chatcore.MaxPassword bytes and a token, so nobody who has
	// not logged in can make the node buffer more than this.
	maxHelloFrame = 4 << 10
	// maxAnonFrame bounds the frames of a session that did not log in and
	// is not a node of the cluster: it may only ask to be admitted (a token,
	// a name, two addresses and a public key) or ping.
	maxAnonFrame = 16 << 10
	// maxInFlight bounds the requests one connection may have running.
	maxInFlight = 256
	// requestTimeout bounds one request on the server side.
	requestTimeout = 30 * time.Second
	// refuseLinger is how long a refused connection stays open for the
	// client to read why.
	refuseLinger = 2 * time.Second
)

// anonLimiter is a carrier that can bound a session that did not log in
// and is not a node of the cluster: a smaller frame limit, and a deadline
// for each request after which readRequest returns errAnonIdle.
type anonLimiter interface {
	limitAnonymous(maxFrame int, idle time.Duration)
}

// errAnonIdle ends a session that did not log in and went idle.
var errAnonIdle = errors.New("idle before logging in")

// session is one client connection, on any carrier: a hello, then requests
// and responses, and one event stream per subscription.
type session struct {
	srv  *Server
	c    carrier
	log  *slog.Logger
	user string // "" for an anonymous (joining or peer node) session
	// peerNode is set for an anonymous session whose TLS client
	// certificate the cluster CA signed: another node of the cluster.
	peerNode bool
	// welcomed is set once the welcome is written; only the serve
	// goroutine touches it.
	welcomed bool

	limit *tokenBucket
	slots chan struct{}
	wg    sync.WaitGroup
	// work hands a request to an idle worker (see session_workers.go);
	// quit, closed when serve returns, ends the idle workers.
	work chan transport.Request
	quit chan struct{}

	// token is the user's session token, checked by watchAccount.
	tokenMu sync.Mutex
	token   string
}

func newSession(s *Server, c carrier) *session {
	return &session{
		srv: s, c: c,
		log:   s.log.With("remote", c.remote()),
		limit: newTokenBucket(s.cfg.RequestsPerSecond),
		slots: make(chan struct{}, maxInFlight),
		work:  make(chan transport.Request),
		quit:  make(chan struct{}),
	}
}

func (ss *session) serve() {
	ctx := ss.c.context()
	defer ss.wg.Wait()
	defer close(ss.quit)
	var hello transport.Hello
	if err := ss.c.readHello(&hello); err != nil {
		if e := inputError(err); e != nil {
			ss.refuse(closeKindProtocol, e)
		} else {
			ss.c.close(closeKindProtocol, "no hello", false)
		}
		return
	}
	welcome, err := ss.authenticate(ctx, hello)
	if err != nil {
		ss.refuse(closeKindAuth, wireError(err))
		return
	}
	if err := ss.c.writeWelcome(welcome); err != nil {
		return
	}
	ss.welcomed = true
	if ss.user != "" {
		// Online from the welcome until the connection ends (a close, a
		// lost connection, an idle timeout), not until the session's last
		// request is done.
		ss.srv.presence.add(ss.user)
		defer ss.srv.presence.remove(ss.user)
		ss.wg.Add(1)
		go func() { defer ss.wg.Done(); ss.watchAccount(ctx) }()
	}
	// A session that never authenticated (not a user, not a node of the
	// cluster) is closed once idle: a joining node makes its one request
	// and goes.
	if l, ok := ss.c.(anonLimiter); ok && ss.user == "" && !ss.peerNode {
		l.limitAnonymous(maxAnonFrame, ss.srv.cfg.AnonIdleTimeout)
	}
	for {
		var req transport.Request
		if err := ss.c.readRequest(&req); err != nil {
			if errors.Is(err, errAnonIdle) {
				ss.c.close(closeKindProtocol, errAnonIdle.Error(), false)
				return
			}
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
			ss.srv.metrics.rateLimited.Inc()
			ss.respond(req.ID, nil, &transport.Error{Code: transport.CodeRateLimited, Message: "too many requests", RetryMillis: 100})
			continue
		}
		select {
		case ss.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		ss.dispatchRequest(ctx, req)
	}
}

// readFailed ends the session after a read error: a clean end, a lost
// connection, or bad input, which is answered before closing.
func (ss *session) readFailed(err error) {
	if e := inputError(err); e != nil {
		ss.refuse(closeKindProtocol, e)
		return
	}
	if errors.Is(err, io.EOF) {
		ss.c.close(closeKindNormal, "bye", false)
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
// reason, so the reason is never lost to the connection's close.
func (ss *session) refuse(kind closeKind, e *transport.Error) {
	var err error
	if ss.welcomed {
		err = ss.c.writeResponse(0, nil, e)
	} else {
		err = ss.c.writeWelcome(transport.Welcome{Error: e})
	}
	ss.c.close(kind, e.Error(), err == nil)
}

func (ss *session) respond(id uint64, body any, e *transport.Error) {
	if err := ss.c.writeResponse(id, body, e); err != nil {
		ss.log.Debug("write response", "err", err)
	}
}

// authenticate checks a hello and builds the welcome.
func (ss *session) authenticate(ctx context.Context, h transport.Hello) (transport.Welcome, error) {
	node := ss.srv.node
	if h.Version != transport.ProtocolVersion {
		return transport.Welcome{}, transport.Errorf(transport.CodeInvalid, "protocol version %d, this server speaks %d", h.Version, transport.ProtocolVersion)
	}
	w := transport.Welcome{ClusterID: node.ClusterID(), NodeID: node.ID(), Nodes: ss.srv.nodeInfos(), ApplyVersion: chatcore.ApplyRulesVersion}
	if h.User == "" {
		// Anonymous: a node joining the cluster (its apply version is
		// checked with its admission), or a node of the cluster (proved
		// by its client certificate) asking for presence.
		ss.peerNode = ss.c.peerNode()
		if ss.peerNode {
			if err := checkApplyVersion("peer", h.ApplyVersion); err != nil {
				ss.log.Warn("peer refused", "err", err)
				return w, err
			}
		}
		return w, nil
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if err := ss.srv.login(ctx, h, ss.c.remote()); err != nil {
		return w, err
	}
	tok, err := node.IssueSessionToken(h.User)
	if err != nil {
		return w, err
	}
	ss.user, w.Token, w.User = h.User, tok, h.User
	ss.setToken(tok)
	ss.log = ss.log.With("user", h.User)
	return w, nil
}

// login checks a user's token or password; the first login of a name
// claims it. A password is checked unless recent failures for the account
// or from the source address (remote, host:port) ask the client to wait
// first, or a check for either runs already (see loginGuard).
func (s *Server) login(ctx context.Context, h transport.Hello, remote string) error {
	if h.Token != "" {
		user, err := s.node.CheckSessionToken(ctx, h.Token)
		if err != nil {
			return err
		}
		if user != h.User {
			return fmt.Errorf("session token is for another user: %w", parley.ErrUnauthorized)
		}
		return nil
	}
	addr := remoteIP(remote)
	if e := s.logins.begin(time.Now(), h.User, addr); e != nil {
		return e
	}
	defer s.logins.end(h.User, addr)
	err := s.node.SignUp(ctx, h.User, h.Password, h.Invite)
	switch {
	case err == nil:
		s.logins.succeeded(h.User, addr)
	case errors.Is(err, parley.ErrUnauthorized):
		s.logins.failed(time.Now(), h.User, addr)
	}
	return err
}

// nodeInfos lists every node's client and HTTP addresses from the registry.
func (s *Server) nodeInfos() []transport.NodeInfo {
	recs, err := s.node.Nodes()
	if err != nil {
		return nil
	}
	out := make([]transport.NodeInfo, len(recs))
	for i, r := range recs {
		out[i] = transport.NodeInfo{ID: r.ID, Name: r.Name, Addr: r.ClientAddr, HTTP: r.HTTPAddr, HTTPS: r.HTTPSAddr}
	}
	return out
}
