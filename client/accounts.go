package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/parleychat/parley/transport"
)

// ChangePassword changes the user's password; oldPassword must be right
// (else an error that is parley.ErrUnauthorized). Every other session of
// the user is logged out; this Client carries on with its new session
// token and, when it has to log in again, the new password. A change
// whose answer was lost is retried safely: the node accepts a change to
// the password it already has.
func (c *Client) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	var resp transport.AccountResponse
	req := transport.AccountRequest{Action: transport.AccountPasswd, OldPassword: oldPassword, NewPassword: newPassword}
	c.mu.Lock()
	c.newPassword = newPassword
	c.mu.Unlock()
	err := c.do(ctx, transport.OpAccount, req, &resp)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.newPassword = ""
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	c.token, c.opts.Password = resp.Token, newPassword
	return nil
}

// LogoutEverywhere revokes every session token of the user and ends
// every live session of it, this Client's included: it then logs in
// again with its password if it has one, so Close it unless that is
// wanted. A session that knows the password can log in again: change
// the password (ChangePassword) to shut it out.
func (c *Client) LogoutEverywhere(ctx context.Context) error {
	var resp transport.AccountResponse
	if err := c.do(ctx, transport.OpAccount, transport.AccountRequest{Action: transport.AccountLogoutEverywhere}, &resp); err != nil {
		return fmt.Errorf("logout everywhere: %w", err)
	}
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
	return nil
}

// SetSignup sets who may create an account by logging in with a new name:
// transport.SignupOpen, SignupInvite (with an invite code, see NewInvite)
// or SignupClosed (an admin adds accounts, see AddUser). Admins only.
func (c *Client) SetSignup(ctx context.Context, policy string) error {
	_, err := c.Admin(ctx, transport.AdminSet, "signup", policy)
	return err
}

// NewInvite makes an invite code that lets uses new accounts sign up
// within ttl (Options.Invite). Admins only.
func (c *Client) NewInvite(ctx context.Context, uses int, ttl time.Duration) (string, error) {
	resp, err := c.admin(ctx, transport.AdminInvite, "new", strconv.Itoa(uses), ttl.String())
	return resp.Secret, err
}

// AddUser creates an account, whatever the sign-up policy; an empty
// password has the cluster make one. It returns the password. Admins only.
func (c *Client) AddUser(ctx context.Context, user, password string) (string, error) {
	return c.userWithPassword(ctx, "add", user, password)
}

// ResetPassword gives user a new password (an empty one has the cluster
// make one) and logs out its sessions. It returns the password. Admins
// only.
func (c *Client) ResetPassword(ctx context.Context, user, password string) (string, error) {
	return c.userWithPassword(ctx, "reset-password", user, password)
}

// DisableUser stops user from logging in and ends its sessions within
// about a second. Admins only; an admin cannot disable itself.
func (c *Client) DisableUser(ctx context.Context, user string) error {
	_, err := c.admin(ctx, transport.AdminUser, "disable", user)
	return err
}

// EnableUser lets a disabled user log in again (its old sessions stay
// revoked). Admins only.
func (c *Client) EnableUser(ctx context.Context, user string) error {
	_, err := c.admin(ctx, transport.AdminUser, "enable", user)
	return err
}

// RevokeSessions logs out every session of user. Admins only.
func (c *Client) RevokeSessions(ctx context.Context, user string) error {
	_, err := c.admin(ctx, transport.AdminUser, "revoke-sessions", user)
	return err
}

// NewJoinToken makes a join token that admits uses nodes within ttl
// (parleyd --join ADDR with the token). It returns the token, shown only
// now, and its id. Admins only.
func (c *Client) NewJoinToken(ctx context.Context, uses int, ttl time.Duration) (token, id string, err error) {
	resp, err := c.admin(ctx, transport.AdminToken, "new", strconv.Itoa(uses), ttl.String())
	if err != nil {
		return "", "", err
	}
	if len(resp.Tokens) == 1 {
		id = resp.Tokens[0].ID
	}
	return resp.Secret, id, nil
}

// JoinTokens lists the cluster's live join tokens. Admins only.
func (c *Client) JoinTokens(ctx context.Context) ([]transport.JoinTokenInfo, error) {
	resp, err := c.admin(ctx, transport.AdminToken, "list")
	return resp.Tokens, err
}

// RevokeJoinToken revokes the join token id ("bootstrap": the one made
// with the cluster). Admins only.
func (c *Client) RevokeJoinToken(ctx context.Context, id string) error {
	_, err := c.admin(ctx, transport.AdminToken, "revoke", id)
	return err
}

func (c *Client) userWithPassword(ctx context.Context, action, user, password string) (string, error) {
	args := []string{action, user}
	if password != "" {
		args = append(args, password)
	}
	resp, err := c.admin(ctx, transport.AdminUser, args...)
	if err != nil {
		return "", err
	}
	if password == "" {
		password = resp.Secret
	}
	return password, nil
}

// admin is Admin returning the whole response.
func (c *Client) admin(ctx context.Context, action string, args ...string) (transport.AdminResponse, error) {
	var resp transport.AdminResponse
	if err := c.do(ctx, transport.OpAdmin, transport.AdminRequest{Action: action, Args: args}, &resp); err != nil {
		return transport.AdminResponse{}, fmt.Errorf("admin %s: %w", action, err)
	}
	return resp, nil
}
