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
// returns ErrUnauthorized.
func (n *Node) Login(ctx context.Context, user, password string) error {
	if err := parley.ValidateUser(user); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if password == "" || len(password) > MaxPassword {
		return fmt.Errorf("login: password must be 1 to %d bytes: %w", MaxPassword, parley.ErrInvalid)
	}
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
		var hash []byte
		var herr error
		if err := n.pwSlots.do(ctx, func() { hash, herr = hashPassword(password, n.argonParams()) }); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if err := herr; err != nil {
			return fmt.Errorf("login: %w", err)
		}
		rec := &Account{Name: user, Hash: hash, Created: time.Now().UnixNano()}
		v, err := n.proposeRegistry(ctx, registryCommand{Op: regOpClaimAccount, Account: rec})
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if v == regApplied {
			return nil // the name is ours, with this password
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

// IssueSessionToken returns a token that proves user logged in, valid for
// SessionTTL on every node of the cluster (it is signed with the registry's
// secret), so reconnects skip the password hash.
func (n *Node) IssueSessionToken(user string) (string, error) {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return "", fmt.Errorf("session: %w", errors.Join(err, parley.ErrUnavailable))
	}
	exp := time.Now().Add(SessionTTL).Unix()
	body := binary.BigEndian.AppendUint64(nil, uint64(exp))
	body = append(body, user...)
	mac := hmac.New(sha256.New, info.Secret)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// CheckSessionToken returns the user a token was issued to, or
// ErrUnauthorized if it is forged or expired.
func (n *Node) CheckSessionToken(token string) (string, error) {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return "", fmt.Errorf("session: %w", errors.Join(err, parley.ErrUnavailable))
	}
	enc := base64.RawURLEncoding
	b64body, b64mac, ok := strings.Cut(token, ".")
	body, err1 := enc.DecodeString(b64body)
	sum, err2 := enc.DecodeString(b64mac)
	if !ok || err1 != nil || err2 != nil || len(body) < 9 {
		return "", fmt.Errorf("session: malformed token: %w", parley.ErrUnauthorized)
	}
	mac := hmac.New(sha256.New, info.Secret)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return "", fmt.Errorf("session: bad signature: %w", parley.ErrUnauthorized)
	}
	if time.Now().Unix() > int64(binary.BigEndian.Uint64(body[:8])) {
		return "", fmt.Errorf("session: expired: %w", parley.ErrUnauthorized)
	}
	return string(body[8:]), nil
}
