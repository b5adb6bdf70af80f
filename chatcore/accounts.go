package chatcore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley"

	"github.com/parleychat/parley/placement"
)

const (
	saltLen = 16
	// MaxPassword bounds the password a client may send.
	MaxPassword = 1024
	// SessionTTL is how long a session token stays valid.
	SessionTTL = 30 * 24 * time.Hour
)

// Login checks a user's password. The first login of a name claims it: the
// password's argon2id hash is stored in the registry. A wrong password
// returns ErrUnauthorized, a disabled account ErrForbidden. A new name
// may be claimed only as the sign-up policy allows (see SignUp).
func (n *Node) Login(ctx context.Context, user, password string) error {
	return n.SignUp(ctx, user, password, "")
}

// SignUp is Login with an invite code, which a new name needs while the
// sign-up policy is SignupInvite; the code is spent in the command that
// creates the account. An existing account ignores invite.
func (n *Node) SignUp(ctx context.Context, user, password, invite string) error {
	if err := parley.ValidateUser(user); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if password == "" || len(password) > MaxPassword {
		return fmt.Errorf("login: password must be 1 to %d bytes: %w", MaxPassword, parley.ErrInvalid)
	}
	// A password reset or a disabled account elsewhere counts here.
	n.registryFresh(ctx)
	acct, found, err := n.account(user)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if !found {
		// Maybe claimed elsewhere and not yet applied here.
		if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if acct, found, err = n.account(user); err != nil {
			return fmt.Errorf("login: %w", err)
		}
	}
	if !found {
		if err := n.signupAllowed(invite); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		var hash []byte
		var herr error
		if err := n.pwSlots.do(ctx, func() { hash, herr = hashPassword(password, n.argonParams()) }); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if err := herr; err != nil {
			return fmt.Errorf("login: %w", err)
		}
		now := time.Now().UnixNano()
		rec := &Account{Name: user, Hash: hash, Created: now}
		cmd := registryCommand{Op: regOpClaimAccount, TS: now, Account: rec}
		if invite != "" {
			cmd.Secret = hashSecret(invite)
		}
		v, err := n.proposeRegistry(ctx, cmd)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if v == regApplied {
			return nil // the name is ours, with this password
		}
		if v != regExisted {
			return resultError("sign up", cmd, v)
		}
		// Someone claimed it first; check against their record.
		if acct, found, err = n.account(user); err != nil || !found {
			return fmt.Errorf("login: account %q vanished: %w", user, errors.Join(err, parley.ErrUnavailable))
		}
	}
	var ok bool
	if err := n.pwSlots.do(ctx, func() { ok = checkPassword(acct.Hash, password) }); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if !ok {
		return fmt.Errorf("login: wrong password for %q: %w", user, parley.ErrUnauthorized)
	}
	if acct.Disabled {
		return fmt.Errorf("login: account %q is disabled: %w", user, parley.ErrForbidden)
	}
	return nil
}

// signupAllowed checks, on the local registry replica, that a new account
// may be claimed with invite, before its password is hashed; the claim's
// command decides.
func (n *Node) signupAllowed(invite string) error {
	info, _, err := n.clusterInfo()
	if err != nil {
		return err
	}
	switch info.Signup {
	case SignupClosed:
		return fmt.Errorf("sign-up is closed on this cluster: ask an admin for an account: %w", parley.ErrForbidden)
	case SignupInvite:
		if invite == "" {
			return fmt.Errorf("sign-up needs an invite code on this cluster: %w", parley.ErrForbidden)
		}
		if !n.inviteUsable(invite) {
			return fmt.Errorf("sign-up needs an invite code, and this one is unknown, used up or expired: %w", parley.ErrForbidden)
		}
	}
	return nil
}

// argonParams returns the cluster's argon2id profile for new hashes.
func (n *Node) argonParams() ArgonParams {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return ArgonDefault
	}
	p, err := ParseArgonProfile(info.Argon)
	if err != nil {
		return ArgonDefault
	}
	return p
}

func (n *Node) account(user string) (Account, bool, error) {
	var a Account
	found, err := getCBOR(n.db.db, regKey(regAccount, user), &a)
	return a, found, err
}

// Session tokens: base64url(body) "." base64url(HMAC-SHA256(body)) with the
// registry's secret, body = 0x01, expiry (Unix s, 8 bytes), the account's
// epoch (8 bytes), the user. Tokens of the first format (expiry, user)
// start with a zero byte and carry epoch 0.
const sessionTokenV2 = 1

// IssueSessionToken returns a token that proves user logged in, valid for
// SessionTTL on every node of the cluster (it is signed with the registry's
// secret), so reconnects skip the password hash. It carries the account's
// epoch: RevokeSessions, a password change or disabling the account make
// it invalid.
func (n *Node) IssueSessionToken(user string) (string, error) {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return "", fmt.Errorf("session: %w", errors.Join(err, parley.ErrUnavailable))
	}
	acct, found, err := n.account(user)
	if err != nil || !found {
		return "", fmt.Errorf("session: no account %q: %w", user, errors.Join(err, parley.ErrUnavailable))
	}
	exp := time.Now().Add(SessionTTL).Unix()
	body := []byte{sessionTokenV2}
	body = binary.BigEndian.AppendUint64(body, uint64(exp))
	body = binary.BigEndian.AppendUint64(body, acct.Epoch)
	body = append(body, user...)
	mac := hmac.New(sha256.New, info.Secret)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// CheckSessionToken returns the user a token was issued to: ErrUnauthorized
// if the token is forged, expired or revoked, ErrForbidden if the account is
// disabled. It reads the registry as it is now when it can (see
// registryFresh).
func (n *Node) CheckSessionToken(ctx context.Context, token string) (string, error) {
	n.registryFresh(ctx)
	user, _, err := n.checkSession(token, true)
	return user, err
}

// freshWait bounds registryFresh.
const freshWait = 2 * time.Second

// registryFresh brings the local registry replica up to date with the
// registry's leader, so that a revocation or a password change committed
// anywhere counts here at once. If that takes longer than freshWait (the
// registry has lost its quorum, or this node is cut off), the local replica
// answers as it is: logins and resumes keep working through a registry
// outage, and a revocation reaches a cut-off node when it catches up
// (whose live sessions then end, see SessionLive).
func (n *Node) registryFresh(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, freshWait)
	defer cancel()
	if err := n.readBarrierOn(fctx, placement.RegistryShard); err != nil {
		n.log.Debug("registry read barrier failed; answering from the local replica", "err", err)
	}
}

// SessionLive checks, on the local registry replica and without a network
// round trip, that a live session that logged in with token may go on: its
// account exists, is enabled, and its sessions were not revoked since. The
// token's expiry is not checked: it bounds resuming, not a live session.
func (n *Node) SessionLive(token string) error {
	_, _, err := n.checkSession(token, false)
	return err
}

// checkSession verifies token and returns its user and epoch.
func (n *Node) checkSession(token string, expiry bool) (string, uint64, error) {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return "", 0, fmt.Errorf("session: %w", errors.Join(err, parley.ErrUnavailable))
	}
	user, exp, epoch, err := parseSessionToken(info.Secret, token)
	if err != nil {
		return "", 0, err
	}
	if expiry && time.Now().Unix() > exp {
		return "", 0, fmt.Errorf("session: expired: %w", parley.ErrUnauthorized)
	}
	acct, found, err := n.account(user)
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("session: %w", err)
	case !found:
		return "", 0, fmt.Errorf("session: no account %q: %w", user, parley.ErrUnauthorized)
	case acct.Disabled:
		return "", 0, fmt.Errorf("session: account %q is disabled: %w", user, parley.ErrForbidden)
	case epoch < acct.Epoch:
		return "", 0, fmt.Errorf("session: revoked (logged out everywhere, or the password changed): %w", parley.ErrUnauthorized)
	}
	return user, epoch, nil
}

// parseSessionToken checks a session token's signature with secret and
// returns what it carries.
func parseSessionToken(secret []byte, token string) (user string, exp int64, epoch uint64, err error) {
	enc := base64.RawURLEncoding
	b64body, b64mac, ok := strings.Cut(token, ".")
	body, err1 := enc.DecodeString(b64body)
	sum, err2 := enc.DecodeString(b64mac)
	if !ok || err1 != nil || err2 != nil || len(body) < 9 {
		return "", 0, 0, fmt.Errorf("session: malformed token: %w", parley.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return "", 0, 0, fmt.Errorf("session: bad signature: %w", parley.ErrUnauthorized)
	}
	if body[0] == sessionTokenV2 {
		if len(body) < 17 {
			return "", 0, 0, fmt.Errorf("session: malformed token: %w", parley.ErrUnauthorized)
		}
		return string(body[17:]), int64(binary.BigEndian.Uint64(body[1:9])), binary.BigEndian.Uint64(body[9:17]), nil
	}
	return string(body[8:]), int64(binary.BigEndian.Uint64(body[:8])), 0, nil
}
