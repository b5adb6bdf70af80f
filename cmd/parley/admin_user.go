package main

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// envNewPassword holds the new password of "parley passwd" and the
// password "parley admin user add|reset-password" sets (else it asks, or
// the cluster makes one).
const envNewPassword = "PARLEY_NEW_PASSWORD"

// Defaults of "parley admin invite new" and "parley admin token new".
const (
	defaultSecretUses = 1
	defaultSecretTTL  = 24 * time.Hour
)

// adminAccountFlags are the flags of the account, invite and token
// actions of "parley admin".
type adminAccountFlags struct {
	uses int
	ttl  time.Duration
}

func addAdminAccountFlags(f *flagSet) *adminAccountFlags {
	af := &adminAccountFlags{}
	f.IntVar(&af.uses, "uses", defaultSecretUses, "invite new, token new: how many sign-ups or nodes it admits")
	f.DurationVar(&af.ttl, "ttl", defaultSecretTTL, "invite new, token new: how long it stays valid")
	return af
}

// adminAccountActions are the actions of "parley admin" on accounts,
// invite codes and join tokens.
var adminAccountActions = map[string]func(context.Context, *env, *flagSet, *adminAccountFlags, []string) error{
	transport.AdminUser:   runAdminUser,
	transport.AdminInvite: runAdminInvite,
	transport.AdminToken:  runAdminToken,
}

// adminOutcome is what an account action prints: a sentence, and a secret
// shown only now (an invite code, a join token, a password).
type adminOutcome struct {
	Message string `json:"message"`
	Secret  string `json:"secret,omitempty"`
}

// runAdminUser implements "parley admin user add|reset-password USER" (the
// password from PARLEY_NEW_PASSWORD, else made by the cluster and printed)
// and "parley admin user disable|enable|revoke-sessions USER".
func runAdminUser(ctx context.Context, e *env, f *flagSet, _ *adminAccountFlags, args []string) error {
	if len(args) != 2 {
		return usagef("user takes an action (add, reset-password, disable, enable, revoke-sessions) and a user")
	}
	action, user := args[0], args[1]
	do := func(ctx context.Context, c *client.Client) (adminOutcome, error) {
		password := e.getenv(envNewPassword)
		var err error
		switch action {
		case "add", "reset-password":
			var got string
			if action == "add" {
				got, err = c.AddUser(ctx, user, password)
			} else {
				got, err = c.ResetPassword(ctx, user, password)
			}
			if err != nil {
				return adminOutcome{}, err
			}
			out := adminOutcome{Message: map[string]string{"add": "account " + user + " created", "reset-password": "password of " + user + " reset; its sessions are logged out"}[action]}
			if password == "" {
				out.Message += "; its password:"
				out.Secret = got
			}
			return out, nil
		case "disable":
			err = c.DisableUser(ctx, user)
		case "enable":
			err = c.EnableUser(ctx, user)
		case "revoke-sessions":
			err = c.RevokeSessions(ctx, user)
		}
		return adminOutcome{Message: action + ": done for " + user}, err
	}
	switch action {
	case "add", "reset-password", "disable", "enable", "revoke-sessions":
	default:
		return usagef("unknown user action %q: add, reset-password, disable, enable or revoke-sessions", action)
	}
	return query(ctx, e, f, do, (*printer).adminOutcome)
}

// runAdminInvite implements "parley admin invite new [--uses N] [--ttl D]".
func runAdminInvite(ctx context.Context, e *env, f *flagSet, af *adminAccountFlags, args []string) error {
	if len(args) != 1 || args[0] != "new" {
		return usagef("invite takes one action: new")
	}
	if err := af.check(); err != nil {
		return err
	}
	do := func(ctx context.Context, c *client.Client) (adminOutcome, error) {
		code, err := c.NewInvite(ctx, af.uses, af.ttl)
		return adminOutcome{Message: fmt.Sprintf("invite code for %d sign-up(s), valid for %v:", af.uses, af.ttl), Secret: code}, err
	}
	return query(ctx, e, f, do, (*printer).adminOutcome)
}

// runAdminToken implements "parley admin token new [--uses N] [--ttl D]",
// "token list" and "token revoke ID".
func runAdminToken(ctx context.Context, e *env, f *flagSet, af *adminAccountFlags, args []string) error {
	switch {
	case len(args) == 1 && args[0] == "new":
		if err := af.check(); err != nil {
			return err
		}
		do := func(ctx context.Context, c *client.Client) (adminOutcome, error) {
			token, id, err := c.NewJoinToken(ctx, af.uses, af.ttl)
			return adminOutcome{Message: fmt.Sprintf("join token %s admits %d node(s) within %v:", id, af.uses, af.ttl), Secret: token}, err
		}
		return query(ctx, e, f, do, (*printer).adminOutcome)
	case len(args) == 1 && args[0] == "list":
		list := func(ctx context.Context, c *client.Client) ([]transport.JoinTokenInfo, error) {
			return c.JoinTokens(ctx)
		}
		return query(ctx, e, f, list, (*printer).joinTokens)
	case len(args) == 2 && args[0] == "revoke":
		do := func(ctx context.Context, c *client.Client) (adminOutcome, error) {
			return adminOutcome{Message: "join token " + args[1] + " revoked"}, c.RevokeJoinToken(ctx, args[1])
		}
		return query(ctx, e, f, do, (*printer).adminOutcome)
	}
	return usagef("token takes new, list or revoke ID")
}

func (af *adminAccountFlags) check() error {
	if af.uses < 1 {
		return usagef("--uses must be at least 1")
	}
	if af.ttl <= 0 {
		return usagef("--ttl must be positive")
	}
	return nil
}

// adminOutcome prints the sentence, then the secret alone on its line.
func (p *printer) adminOutcome(o adminOutcome) error {
	if p.json {
		return p.writeJSON(o)
	}
	if _, err := fmt.Fprintln(p.w, clean(o.Message)); err != nil {
		return err
	}
	if o.Secret == "" {
		return nil
	}
	_, err := fmt.Fprintln(p.w, clean(o.Secret))
	return err
}

// joinTokens prints one join token a line: id, uses left, expiry, maker.
func (p *printer) joinTokens(tokens []transport.JoinTokenInfo) error {
	for _, t := range tokens {
		uses, expires := fmt.Sprint(t.Uses), "never"
		if t.Uses < 0 {
			uses = "unlimited"
		}
		if t.Expires > 0 {
			expires = time.Unix(0, t.Expires).UTC().Format(time.RFC3339)
		}
		if p.json {
			if err := p.writeJSON(struct {
				ID      string `json:"id"`
				Uses    int    `json:"uses"`
				Expires string `json:"expires"`
				By      string `json:"by,omitempty"`
			}{t.ID, t.Uses, expires, t.By}); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(p.w, "%-12s  uses left %-9s  expires %s  %s\n", clean(t.ID), uses, expires, clean(t.By)); err != nil {
			return err
		}
	}
	return nil
}
