package chatcore

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// Sign-up policies (ClusterInfo.Signup, SetSignup): who may create an
// account by logging in with a new name.
const (
	// SignupOpen lets anyone claim a free name (the default).
	SignupOpen = "open"
	// SignupInvite needs an invite code an admin made (NewInvite).
	SignupInvite = "invite"
	// SignupClosed lets nobody sign up: an admin adds accounts (AddUser).
	SignupClosed = "closed"
)

// Registry commands of account administration, invites and join tokens:
// numbered from 32, clear of registry.go's own (which count up from 1) and
// of import's (64).
const (
	// regOpSetSignup sets ClusterInfo.Signup to Cluster.Signup; By must
	// be an admin.
	regOpSetSignup uint8 = 32 + iota
	// regOpSetPassword replaces Account.Name's hash with Account.Hash and
	// raises its epoch (revoking its sessions); By must be an admin or
	// the account itself.
	regOpSetPassword
	// regOpSetDisabled sets Account.Name's Disabled to Account.Disabled,
	// raising its epoch when disabling; By must be an admin.
	regOpSetDisabled
	// regOpRevokeSessions raises Account.Name's epoch; By must be an
	// admin or the account itself.
	regOpRevokeSessions
	// regOpNewInvite records Invite; By must be an admin.
	regOpNewInvite
	// regOpNewJoinToken records JoinToken; By must be an admin.
	regOpNewJoinToken
	// regOpRevokeJoinToken deletes the join token whose id is
	// JoinToken.ID ("bootstrap": the cluster's first token); By must be
	// an admin.
	regOpRevokeJoinToken
)

// Results of account commands, beside regApplied, regRejected and
// regExisted.
const (
	// regNoSecret: the invite code or join token is unknown, used up or
	// expired.
	regNoSecret uint64 = 3
	// regClosed: sign-up is closed.
	regClosed uint64 = 4
	// regForbidden: By may not do this.
	regForbidden uint64 = 5
	// regNoAccount: the account does not exist.
	regNoAccount uint64 = 6
)

// claimAccount applies regOpClaimAccount: a new account, unless the name
// is taken. Without By (a sign-up) the cluster's policy applies, and with
// SignupInvite the invite whose hash is Secret is spent in the same
// command, so a single-use code creates exactly one account. With By (an
// admin adding the account) the policy does not apply.
func (r *registryShard) claimAccount(b *pebble.Batch, info *ClusterInfo, cmd registryCommand) (uint64, error) {
	if cmd.Account == nil || parley.ValidateUser(cmd.Account.Name) != nil {
		return regRejected, nil
	}
	key := regKey(regAccount, cmd.Account.Name)
	if found, err := getCBOR(b, key, &Account{}); err != nil || found {
		return regExisted, err
	}
	if cmd.By != "" {
		if ok, err := adminAt(b, cmd.By); err != nil || !ok {
			return regForbidden, err
		}
	} else {
		switch info.Signup {
		case SignupClosed:
			return regClosed, nil
		case SignupInvite:
			if ok, err := spendInvite(b, cmd.Secret, cmd.TS); err != nil || !ok {
				return regNoSecret, err
			}
		}
	}
	acct := Account{Name: cmd.Account.Name, Hash: cmd.Account.Hash, Created: cmd.Account.Created}
	acct.Admin = !info.HasAdmin // the first account is the cluster's admin
	if err := putCBOR(b, key, acct); err != nil {
		return 0, err
	}
	if info.HasAdmin {
		return regApplied, nil
	}
	info.HasAdmin = true
	return regApplied, putCBOR(b, regKey(regCluster, ""), *info)
}

// applyAccountAdmin applies the commands of account administration,
// invites and join tokens.
func (r *registryShard) applyAccountAdmin(b *pebble.Batch, info *ClusterInfo, cmd registryCommand) (uint64, error) {
	admin, err := adminAt(b, cmd.By)
	if err != nil {
		return 0, err
	}
	switch cmd.Op {
	case regOpSetSignup:
		if !admin {
			return regForbidden, nil
		}
		if cmd.Cluster == nil || ParseSignup(cmd.Cluster.Signup) != nil {
			return regRejected, nil
		}
		info.Signup = cmd.Cluster.Signup
		if info.Signup == SignupOpen {
			info.Signup = ""
		}
		return regApplied, putCBOR(b, regKey(regCluster, ""), *info)
	case regOpNewInvite:
		if !admin {
			return regForbidden, nil
		}
		return putInvite(b, cmd)
	case regOpNewJoinToken, regOpRevokeJoinToken:
		if !admin {
			return regForbidden, nil
		}
		return applyJoinToken(b, info, cmd)
	}
	// The rest change one account.
	if cmd.Account == nil {
		return regRejected, nil
	}
	self := cmd.By != "" && cmd.By == cmd.Account.Name
	var acct Account
	found, err := getCBOR(b, regKey(regAccount, cmd.Account.Name), &acct)
	if err != nil {
		return 0, err
	}
	if !admin && !(self && cmd.Op != regOpSetDisabled) {
		return regForbidden, nil
	}
	if !found {
		return regNoAccount, nil
	}
	switch cmd.Op {
	case regOpSetPassword:
		if len(cmd.Account.Hash) == 0 {
			return regRejected, nil
		}
		acct.Hash = cmd.Account.Hash
		acct.Epoch++
	case regOpSetDisabled:
		if acct.Disabled == cmd.Account.Disabled {
			return regExisted, nil
		}
		acct.Disabled = cmd.Account.Disabled
		if acct.Disabled {
			acct.Epoch++
		}
	case regOpRevokeSessions:
		acct.Epoch++
	default:
		return regRejected, nil
	}
	return regApplied, putCBOR(b, regKey(regAccount, acct.Name), acct)
}

// adminAt reports whether user is an enabled admin in the registry state
// being applied.
func adminAt(r reader, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	var acct Account
	found, err := getCBOR(r, regKey(regAccount, user), &acct)
	return found && acct.Admin && !acct.Disabled, err
}

// ParseSignup checks a sign-up policy's name: SignupOpen, SignupInvite
// or SignupClosed.
func ParseSignup(policy string) error {
	switch policy {
	case SignupOpen, SignupInvite, SignupClosed:
		return nil
	}
	return fmt.Errorf("sign-up policy %q: want %s, %s or %s: %w", policy, SignupOpen, SignupInvite, SignupClosed, parley.ErrInvalid)
}

// Signup returns the cluster's sign-up policy.
func (n *Node) Signup(ctx context.Context) (string, error) {
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		return "", fmt.Errorf("sign-up: %w", err)
	}
	if info.Signup == "" {
		return SignupOpen, nil
	}
	return info.Signup, nil
}

// SetSignup changes who may create an account by logging in (SignupOpen,
// SignupInvite, SignupClosed); by must be an admin.
func (n *Node) SetSignup(ctx context.Context, by, policy string) error {
	if err := ParseSignup(policy); err != nil {
		return fmt.Errorf("set signup: %w", err)
	}
	return n.accountCommand(ctx, "set signup", registryCommand{Op: regOpSetSignup, By: by, Cluster: &ClusterInfo{Signup: policy}})
}

// AddUser creates the account name with password; by must be an admin.
// It works whatever the sign-up policy. An empty password makes a random
// one, which AddUser returns (else it returns password).
func (n *Node) AddUser(ctx context.Context, by, name, password string) (string, error) {
	if err := parley.ValidateUser(name); err != nil {
		return "", fmt.Errorf("add user: %w", err)
	}
	if err := n.requireAdmin(ctx, by); err != nil {
		return "", fmt.Errorf("add user: %w", err)
	}
	password, hash, err := n.newPasswordHash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("add user: %w", err)
	}
	acct := &Account{Name: name, Hash: hash, Created: time.Now().UnixNano()}
	err = n.accountCommand(ctx, "add user", registryCommand{Op: regOpClaimAccount, By: by, Account: acct})
	return password, err
}

// ResetPassword gives user a new password and revokes its sessions; by
// must be an admin. An empty password makes a random one, which it
// returns (else it returns password).
func (n *Node) ResetPassword(ctx context.Context, by, user, password string) (string, error) {
	if err := parley.ValidateUser(user); err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	if err := n.requireAdmin(ctx, by); err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	password, hash, err := n.newPasswordHash(ctx, password)
	if err != nil {
		return "", fmt.Errorf("reset password: %w", err)
	}
	err = n.accountCommand(ctx, "reset password", registryCommand{Op: regOpSetPassword, By: by, Account: &Account{Name: user, Hash: hash}})
	return password, err
}

// SetDisabled disables (or enables) user; by must be an admin and may not
// disable itself. A disabled account cannot log in or resume a session,
// and disabling revokes its sessions: they stay revoked once enabled again.
func (n *Node) SetDisabled(ctx context.Context, by, user string, disabled bool) error {
	what := map[bool]string{true: "disable", false: "enable"}[disabled]
	if err := parley.ValidateUser(user); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if disabled && by == user {
		return fmt.Errorf("%s: an admin cannot disable itself: %w", what, parley.ErrInvalid)
	}
	err := n.accountCommand(ctx, what, registryCommand{Op: regOpSetDisabled, By: by, Account: &Account{Name: user, Disabled: disabled}})
	if errors.Is(err, ErrExists) {
		return nil // disabling a disabled account is done
	}
	return err
}

// RevokeSessions ends every session of user: tokens issued before no
// longer resume, and daemons close the live ones (see SessionLive). by
// must be an admin or user itself.
func (n *Node) RevokeSessions(ctx context.Context, by, user string) error {
	if err := parley.ValidateUser(user); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return n.accountCommand(ctx, "revoke sessions", registryCommand{Op: regOpRevokeSessions, By: by, Account: &Account{Name: user}})
}

// ChangePassword replaces user's password after checking the old one
// (ErrUnauthorized if wrong), and revokes every session of user. If the
// password is newPassword already (a retry whose first try committed), it
// succeeds and changes nothing. The
// caller issues its own session a fresh token (IssueSessionToken) to
// stay logged in.
func (n *Node) ChangePassword(ctx context.Context, user, oldPassword, newPassword string) error {
	if newPassword == "" || len(newPassword) > MaxPassword {
		return fmt.Errorf("change password: new password must be 1 to %d bytes: %w", MaxPassword, parley.ErrInvalid)
	}
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	acct, found, err := n.account(user)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !found {
		return fmt.Errorf("change password: no account %q: %w", user, parley.ErrNotFound)
	}
	var ok bool
	if err := n.pwSlots.do(ctx, func() { ok = checkPassword(acct.Hash, oldPassword) }); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		// A retried change whose first try committed is done already.
		if err := n.pwSlots.do(ctx, func() { ok = checkPassword(acct.Hash, newPassword) }); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		if ok {
			return nil
		}
		return fmt.Errorf("change password: wrong old password for %q: %w", user, parley.ErrUnauthorized)
	}
	_, hash, err := n.newPasswordHash(ctx, newPassword)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return n.accountCommand(ctx, "change password", registryCommand{Op: regOpSetPassword, By: user, Account: &Account{Name: user, Hash: hash}})
}

// newPasswordHash hashes password, or a random one if it is empty, and
// returns the password with its hash.
func (n *Node) newPasswordHash(ctx context.Context, password string) (string, []byte, error) {
	if password == "" {
		password = randomCode(12)
	}
	if len(password) > MaxPassword {
		return "", nil, fmt.Errorf("password longer than %d bytes: %w", MaxPassword, parley.ErrInvalid)
	}
	var hash []byte
	var herr error
	if err := n.pwSlots.do(ctx, func() { hash, herr = hashPassword(password, n.argonParams()) }); err != nil {
		return "", nil, err
	}
	return password, hash, herr
}

// accountCommand proposes cmd and turns its result into an error naming
// what failed.
func (n *Node) accountCommand(ctx context.Context, what string, cmd registryCommand) error {
	cmd.TS = time.Now().UnixNano()
	v, err := n.proposeRegistry(ctx, cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return resultError(what, cmd, v)
}

// resultError is the error of an account command's result, nil if it
// applied.
func resultError(what string, cmd registryCommand, v uint64) error {
	name := ""
	if cmd.Account != nil {
		name = cmd.Account.Name
	}
	switch v {
	case regApplied:
		return nil
	case regExisted:
		if cmd.Op == regOpClaimAccount {
			return fmt.Errorf("%s: account %q exists already: %w", what, name, ErrExists)
		}
		return fmt.Errorf("%s: %q is already so: %w", what, name, ErrExists)
	case regForbidden:
		return fmt.Errorf("%s: %q may not: %w", what, cmd.By, parley.ErrForbidden)
	case regNoAccount:
		return fmt.Errorf("%s: no account %q: %w", what, name, parley.ErrNotFound)
	case regClosed:
		return fmt.Errorf("%s: sign-up is closed on this cluster: ask an admin for an account: %w", what, parley.ErrForbidden)
	case regNoSecret:
		if cmd.Op == regOpClaimAccount {
			return fmt.Errorf("%s: sign-up needs an invite code, and this one is unknown, used up or expired: %w", what, parley.ErrForbidden)
		}
		return fmt.Errorf("%s: unknown: %w", what, parley.ErrNotFound)
	}
	return fmt.Errorf("%s: rejected by registry: %w", what, parley.ErrInvalid)
}

// randomCode returns n random bytes as lower-case base32 text.
func randomCode(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
