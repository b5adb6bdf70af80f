package chatcore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley"
)

// regInvite is the registry record kind of invite codes, keyed by the
// code's SHA-256.
const regInvite = 'i'

// Bounds of invite codes and join tokens (NewInvite, NewJoinToken).
const (
	// MaxSecretUses bounds how many times one invite or token may be used.
	MaxSecretUses = 10000
	// MaxSecretTTL bounds how long one invite or token lives.
	MaxSecretTTL = 366 * 24 * time.Hour
)

// InviteRecord is an invite code in the registry: only its hash is kept.
type InviteRecord struct {
	Hash []byte `cbor:"1,keyasint"`
	// Uses is how many more accounts the code may create.
	Uses int `cbor:"2,keyasint"`
	// Expires is when the code stops working (Unix ns).
	Expires int64 `cbor:"3,keyasint"`
	// By is the admin who made it.
	By      string `cbor:"4,keyasint,omitempty"`
	Created int64  `cbor:"5,keyasint,omitempty"`
}

// NewInvite makes an invite code that lets uses new accounts sign up
// within ttl while the sign-up policy is SignupInvite; by must be an
// admin. Only the code's hash is stored: the code is shown once.
func (n *Node) NewInvite(ctx context.Context, by string, uses int, ttl time.Duration) (string, error) {
	if err := checkSecretBounds(uses, ttl); err != nil {
		return "", fmt.Errorf("new invite: %w", err)
	}
	code := randomCode(16)
	now := time.Now()
	rec := &InviteRecord{Hash: hashSecret(code), Uses: uses, Expires: now.Add(ttl).UnixNano(), By: by, Created: now.UnixNano()}
	if err := n.accountCommand(ctx, "new invite", registryCommand{Op: regOpNewInvite, By: by, Invite: rec}); err != nil {
		return "", err
	}
	return code, nil
}

// inviteUsable reports whether the local registry replica holds a live
// invite code (a check before the expensive password hash; the sign-up's
// command decides).
func (n *Node) inviteUsable(code string) bool {
	var rec InviteRecord
	found, err := getCBOR(n.db.db, regKey(regInvite, string(hashSecret(code))), &rec)
	return err == nil && found && rec.Uses > 0 && time.Now().UnixNano() < rec.Expires
}

func checkSecretBounds(uses int, ttl time.Duration) error {
	if uses < 1 || uses > MaxSecretUses {
		return fmt.Errorf("uses %d: want 1 to %d: %w", uses, MaxSecretUses, parley.ErrInvalid)
	}
	if ttl <= 0 || ttl > MaxSecretTTL {
		return fmt.Errorf("ttl %v: want more than 0 and at most %v: %w", ttl, MaxSecretTTL, parley.ErrInvalid)
	}
	return nil
}

func hashSecret(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// putInvite applies regOpNewInvite.
func putInvite(b *pebble.Batch, cmd registryCommand) (uint64, error) {
	rec := cmd.Invite
	if rec == nil || len(rec.Hash) != sha256.Size || rec.Uses < 1 {
		return regRejected, nil
	}
	if err := pruneInvites(b, cmd.TS); err != nil {
		return 0, err
	}
	return regApplied, putCBOR(b, regKey(regInvite, string(rec.Hash)), rec)
}

// spendInvite uses the invite whose hash is hash once, at now (the
// command's time): false if it is unknown, used up or expired. A code is
// deleted with its last use.
func spendInvite(b *pebble.Batch, hash []byte, now int64) (bool, error) {
	if len(hash) != sha256.Size {
		return false, nil
	}
	key := regKey(regInvite, string(hash))
	var rec InviteRecord
	found, err := getCBOR(b, key, &rec)
	if err != nil || !found || rec.Uses < 1 || now >= rec.Expires {
		return false, err
	}
	rec.Uses--
	if rec.Uses == 0 {
		return true, b.Delete(key, nil)
	}
	return true, putCBOR(b, key, rec)
}

// pruneInvites deletes the invites expired at now, so they do not pile up.
func pruneInvites(b *pebble.Batch, now int64) error {
	recs, err := scanCBOR[InviteRecord](b, regInvite)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if now >= rec.Expires {
			if err := b.Delete(regKey(regInvite, string(rec.Hash)), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
