package daemon

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// adminAccounts serves the admin actions on accounts, sign-up, invite codes
// and join tokens; ok is false for another action. chatcore checks that the
// session's user is an admin, in the registry command itself.
func (ss *session) adminAccounts(ctx context.Context, r transport.AdminRequest) (resp transport.AdminResponse, ok bool, err error) {
	node, by, args := ss.srv.node, ss.user, r.Args
	switch {
	case r.Action == transport.AdminSet && len(args) == 2 && args[0] == "signup":
		if err := node.SetSignup(ctx, by, args[1]); err != nil {
			return resp, true, err
		}
		ss.log.Info("admin: set signup", "value", args[1])
		return transport.AdminResponse{Message: "sign-up is now " + args[1]}, true, nil
	case r.Action == transport.AdminUser:
		resp, err := ss.adminUser(ctx, args)
		return resp, true, err
	case r.Action == transport.AdminInvite && len(args) == 3 && args[0] == "new":
		uses, ttl, err := usesAndTTL(args[1], args[2])
		if err != nil {
			return resp, true, fmt.Errorf("new invite: %w", err)
		}
		code, err := node.NewInvite(ctx, by, uses, ttl)
		if err != nil {
			return resp, true, err
		}
		ss.log.Info("admin: new invite", "uses", uses, "ttl", ttl)
		return transport.AdminResponse{Message: fmt.Sprintf("invite code for %d sign-up(s), valid for %v", uses, ttl), Secret: code}, true, nil
	case r.Action == transport.AdminToken:
		resp, err := ss.adminToken(ctx, args)
		return resp, true, err
	}
	return resp, false, nil
}

// adminUser serves AdminUser: ACTION USER [PASSWORD].
func (ss *session) adminUser(ctx context.Context, args []string) (transport.AdminResponse, error) {
	node, by := ss.srv.node, ss.user
	if len(args) < 2 || len(args) > 3 || len(args) == 3 && args[0] != "add" && args[0] != "reset-password" {
		return transport.AdminResponse{}, fmt.Errorf("admin user: want add|reset-password USER [PASSWORD] or disable|enable|revoke-sessions USER: %w", parley.ErrInvalid)
	}
	action, user, password := args[0], args[1], ""
	if len(args) == 3 {
		password = args[2]
	}
	var (
		resp transport.AdminResponse
		err  error
	)
	switch action {
	case "add":
		var made string
		if made, err = node.AddUser(ctx, by, user, password); err == nil {
			resp.Message = "account " + user + " created"
			if password == "" {
				resp.Secret = made
			}
		}
	case "reset-password":
		var made string
		if made, err = node.ResetPassword(ctx, by, user, password); err == nil {
			resp.Message = "password of " + user + " reset; its sessions are revoked"
			if password == "" {
				resp.Secret = made
			}
		}
	case "disable", "enable":
		if err = node.SetDisabled(ctx, by, user, action == "disable"); err == nil {
			resp.Message = user + " is " + action + "d"
			if action == "disable" {
				resp.Message += "; its sessions are revoked"
			}
		}
	case "revoke-sessions":
		if err = node.RevokeSessions(ctx, by, user); err == nil {
			resp.Message = "sessions of " + user + " revoked"
		}
	default:
		return resp, fmt.Errorf("admin user: unknown action %q: add, reset-password, disable, enable or revoke-sessions: %w", action, parley.ErrInvalid)
	}
	if err != nil {
		return transport.AdminResponse{}, err
	}
	ss.log.Info("admin: user "+action, "user", user)
	return resp, nil
}

// adminToken serves AdminToken: new USES TTL, list, revoke ID.
func (ss *session) adminToken(ctx context.Context, args []string) (transport.AdminResponse, error) {
	node, by := ss.srv.node, ss.user
	switch {
	case len(args) == 3 && args[0] == "new":
		uses, ttl, err := usesAndTTL(args[1], args[2])
		if err != nil {
			return transport.AdminResponse{}, fmt.Errorf("new join token: %w", err)
		}
		token, rec, err := node.NewJoinToken(ctx, by, uses, ttl)
		if err != nil {
			return transport.AdminResponse{}, err
		}
		ss.log.Info("admin: new join token", "id", rec.ID, "uses", uses, "ttl", ttl)
		return transport.AdminResponse{Message: fmt.Sprintf("join token %s admits %d node(s) within %v", rec.ID, uses, ttl), Secret: token,
			Tokens: []transport.JoinTokenInfo{{ID: rec.ID, Uses: rec.Uses, Expires: rec.Expires, By: rec.By, Created: rec.Created}}}, nil
	case len(args) == 1 && args[0] == "list":
		recs, err := node.JoinTokens(ctx, by)
		if err != nil {
			return transport.AdminResponse{}, err
		}
		resp := transport.AdminResponse{Message: fmt.Sprintf("%d join token(s)", len(recs)), Tokens: []transport.JoinTokenInfo{}}
		for _, r := range recs {
			info := transport.JoinTokenInfo{ID: r.ID, Uses: r.Uses, Expires: r.Expires, By: r.By, Created: r.Created}
			if r.ID == chatcore.BootstrapTokenID {
				info.Uses = -1
			}
			resp.Tokens = append(resp.Tokens, info)
		}
		return resp, nil
	case len(args) == 2 && args[0] == "revoke":
		if err := node.RevokeJoinToken(ctx, by, args[1]); err != nil {
			return transport.AdminResponse{}, err
		}
		ss.log.Info("admin: revoke join token", "id", args[1])
		return transport.AdminResponse{Message: "join token " + args[1] + " revoked"}, nil
	}
	return transport.AdminResponse{}, fmt.Errorf("admin token: want new USES TTL, list or revoke ID: %w", parley.ErrInvalid)
}

// usesAndTTL parses the uses and time to live of an invite or join token.
func usesAndTTL(usesArg, ttlArg string) (int, time.Duration, error) {
	uses, err := strconv.Atoi(usesArg)
	if err != nil {
		return 0, 0, fmt.Errorf("uses %q: not a number: %w", usesArg, parley.ErrInvalid)
	}
	ttl, err := time.ParseDuration(ttlArg)
	if err != nil {
		return 0, 0, fmt.Errorf("ttl %q: not a duration (say 24h): %w", ttlArg, parley.ErrInvalid)
	}
	return uses, ttl, nil
}
