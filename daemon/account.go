package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// accountCheckInterval is how often a live session checks that its account
// is still enabled and its sessions not revoked (see watchAccount).
const accountCheckInterval = time.Second

// account serves OpAccount: the session's user changes its password or
// logs out everywhere.
func (ss *session) account(ctx context.Context, r transport.AccountRequest) (transport.AccountResponse, error) {
	node := ss.srv.node
	switch r.Action {
	case transport.AccountPasswd:
		// watchAccount waits meanwhile: it must not see the old token
		// revoked before this session has its new one.
		ss.tokenMu.Lock()
		defer ss.tokenMu.Unlock()
		if err := ss.srv.changePassword(ctx, ss.user, r, ss.c.remote()); err != nil {
			return transport.AccountResponse{}, err
		}
		tok, err := node.IssueSessionToken(ss.user)
		if err != nil {
			return transport.AccountResponse{}, err
		}
		ss.token = tok
		ss.log.Info("password changed; other sessions revoked")
		return transport.AccountResponse{Message: "password changed; your other sessions are logged out", Token: tok}, nil
	case transport.AccountLogoutEverywhere:
		if err := node.RevokeSessions(ctx, ss.user, ss.user); err != nil {
			return transport.AccountResponse{}, err
		}
		ss.log.Info("logged out everywhere")
		return transport.AccountResponse{Message: "every session of " + ss.user + " is logged out"}, nil
	}
	return transport.AccountResponse{}, fmt.Errorf("account: unknown action %q: %s or %s: %w", r.Action, transport.AccountPasswd, transport.AccountLogoutEverywhere, parley.ErrInvalid)
}

// changePassword checks the old password under the same slow-down as a
// login (a stolen session token must not make guessing it cheap), then
// changes it.
func (s *Server) changePassword(ctx context.Context, user string, r transport.AccountRequest, remote string) error {
	addr := remoteIP(remote)
	if e := s.logins.begin(time.Now(), user, addr); e != nil {
		return e
	}
	defer s.logins.end(user, addr)
	err := s.node.ChangePassword(ctx, user, r.OldPassword, r.NewPassword)
	switch {
	case err == nil:
		s.logins.succeeded(user, addr)
	case errors.Is(err, parley.ErrUnauthorized):
		s.logins.failed(time.Now(), user, addr)
	}
	return err
}

func (ss *session) setToken(tok string) {
	ss.tokenMu.Lock()
	ss.token = tok
	ss.tokenMu.Unlock()
}

func (ss *session) currentToken() string {
	ss.tokenMu.Lock()
	defer ss.tokenMu.Unlock()
	return ss.token
}

// watchAccount ends a user's session once its account is disabled or its
// sessions revoked (by an admin, a password change elsewhere, or a logout
// everywhere): it checks the local registry replica every
// accountCheckInterval until ctx ends.
func (ss *session) watchAccount(ctx context.Context) {
	t := time.NewTicker(accountCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := ss.srv.node.SessionLive(ss.currentToken())
		if err == nil || errors.Is(err, parley.ErrUnavailable) {
			continue
		}
		ss.log.Info("session ended: account changed", "err", err)
		e := wireError(err)
		// Best effort: the close carries the reason too.
		ss.c.writeResponse(0, nil, e)
		ss.c.close(closeKindAuth, e.Error(), false)
		return
	}
}
