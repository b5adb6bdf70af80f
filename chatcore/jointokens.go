package chatcore

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/pki"
)

// regJoinToken is the registry record kind of join tokens an admin made,
// keyed by the token's SHA-256.
const regJoinToken = 't'

// BootstrapTokenID names the join token made when the cluster was created
// (ClusterInfo.TokenHash): it admits any number of nodes until revoked.
const BootstrapTokenID = "bootstrap"

// JoinTokenRecord is a join token in the registry: only its hash is kept.
type JoinTokenRecord struct {
	// ID names the token in lists and for revoking it: the first 12 hex
	// digits of its hash.
	ID   string `cbor:"1,keyasint"`
	Hash []byte `cbor:"2,keyasint"`
	// Uses is how many more nodes the token may admit; a used-up token is
	// kept until it expires, so a node whose admission answer was lost can
	// retry with it.
	Uses int `cbor:"3,keyasint"`
	// Expires is when the token stops working (Unix ns); 0 never (only
	// the bootstrap token, in lists).
	Expires int64  `cbor:"4,keyasint"`
	By      string `cbor:"5,keyasint,omitempty"`
	Created int64  `cbor:"6,keyasint,omitempty"`
}

// NewJoinToken makes a join token that admits uses nodes within ttl; by
// must be an admin. It returns the token (shown once: only its hash is
// stored) and its record.
func (n *Node) NewJoinToken(ctx context.Context, by string, uses int, ttl time.Duration) (string, JoinTokenRecord, error) {
	if err := checkSecretBounds(uses, ttl); err != nil {
		return "", JoinTokenRecord{}, fmt.Errorf("new join token: %w", err)
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		return "", JoinTokenRecord{}, fmt.Errorf("new join token: %w", err)
	}
	ca, err := pki.LoadCA(info.CACertPEM, info.CAKeyPEM)
	if err != nil {
		return "", JoinTokenRecord{}, fmt.Errorf("new join token: %w", err)
	}
	token, err := pki.NewJoinToken(pki.Fingerprint(ca.Cert.Raw))
	if err != nil {
		return "", JoinTokenRecord{}, fmt.Errorf("new join token: %w", err)
	}
	now := time.Now()
	hash := pki.HashToken(token)
	rec := JoinTokenRecord{ID: tokenID(hash), Hash: hash, Uses: uses, Expires: now.Add(ttl).UnixNano(), By: by, Created: now.UnixNano()}
	if err := n.accountCommand(ctx, "new join token", registryCommand{Op: regOpNewJoinToken, By: by, JoinToken: &rec}); err != nil {
		return "", JoinTokenRecord{}, err
	}
	return token, rec, nil
}

// JoinTokens lists the cluster's live join tokens, the bootstrap token
// first unless revoked; by must be an admin.
func (n *Node) JoinTokens(ctx context.Context, by string) ([]JoinTokenRecord, error) {
	if err := n.requireAdmin(ctx, by); err != nil {
		return nil, fmt.Errorf("join tokens: %w", err)
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("join tokens: %w", err)
	}
	recs, err := scanCBOR[JoinTokenRecord](n.db.db, regJoinToken)
	if err != nil {
		return nil, fmt.Errorf("join tokens: %w", err)
	}
	now := time.Now().UnixNano()
	var out []JoinTokenRecord
	if len(info.TokenHash) > 0 {
		out = append(out, JoinTokenRecord{ID: BootstrapTokenID, Hash: info.TokenHash, Created: info.Created})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created < recs[j].Created })
	for _, r := range recs {
		if now < r.Expires {
			out = append(out, r)
		}
	}
	return out, nil
}

// RevokeJoinToken deletes the join token id (BootstrapTokenID: the one
// made with the cluster); by must be an admin. Nodes it admitted stay.
func (n *Node) RevokeJoinToken(ctx context.Context, by, id string) error {
	if id == "" {
		return fmt.Errorf("revoke join token: no id: %w", parley.ErrInvalid)
	}
	return n.accountCommand(ctx, "revoke join token "+id, registryCommand{Op: regOpRevokeJoinToken, By: by, JoinToken: &JoinTokenRecord{ID: id}})
}

// CheckJoinToken reports whether token may admit a node: the bootstrap
// token unless revoked, or a recorded token that has not expired (a
// used-up one too: Admit decides, in the registry, whether a use is left
// or the join is a retry of the node it admitted). Anything else gets an
// error wrapping parley.ErrUnauthorized.
func (n *Node) CheckJoinToken(ctx context.Context, token string) error {
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	hash := pki.HashToken(token)
	if len(info.TokenHash) > 0 && pki.CheckToken(token, info.TokenHash) == nil {
		return nil
	}
	var rec JoinTokenRecord
	found, err := getCBOR(n.db.db, regKey(regJoinToken, string(hash)), &rec)
	if err != nil {
		return fmt.Errorf("join token: %w", err)
	}
	if !found || time.Now().UnixNano() >= rec.Expires {
		return fmt.Errorf("join token: unknown, revoked or expired: %w", parley.ErrUnauthorized)
	}
	return nil
}

// joinTokenUsedUp reports whether token is a recorded join token with no
// use left, for saying why an admission was refused.
func (n *Node) joinTokenUsedUp(token string) bool {
	var rec JoinTokenRecord
	found, err := getCBOR(n.db.db, regKey(regJoinToken, string(pki.HashToken(token))), &rec)
	return err == nil && found && rec.Uses < 1
}

func tokenID(hash []byte) string { return hex.EncodeToString(hash[:6]) }

// applyJoinToken applies regOpNewJoinToken and regOpRevokeJoinToken.
func applyJoinToken(b *pebble.Batch, info *ClusterInfo, cmd registryCommand) (uint64, error) {
	rec := cmd.JoinToken
	if rec == nil {
		return regRejected, nil
	}
	recs, err := scanCBOR[JoinTokenRecord](b, regJoinToken)
	if err != nil {
		return 0, err
	}
	if cmd.Op == regOpNewJoinToken {
		if len(rec.Hash) != sha256.Size || rec.Uses < 1 || rec.ID != tokenID(rec.Hash) {
			return regRejected, nil
		}
		for _, old := range recs {
			if cmd.TS >= old.Expires {
				if err := b.Delete(regKey(regJoinToken, string(old.Hash)), nil); err != nil {
					return 0, err
				}
			}
		}
		return regApplied, putCBOR(b, regKey(regJoinToken, string(rec.Hash)), rec)
	}
	if rec.ID == BootstrapTokenID {
		if len(info.TokenHash) == 0 {
			return regNoSecret, nil
		}
		info.TokenHash = nil
		return regApplied, putCBOR(b, regKey(regCluster, ""), *info)
	}
	for _, old := range recs {
		if old.ID == rec.ID {
			return regApplied, b.Delete(regKey(regJoinToken, string(old.Hash)), nil)
		}
	}
	return regNoSecret, nil
}

// spendJoinToken checks, in regOpAddNode, the join token whose hash is
// cmd.Secret and uses it once: the bootstrap token is never used up, a
// recorded one must have a use left and not have expired at cmd.TS. No
// Secret (an in-process admission, whose caller checked) passes. It
// records on cmd.Node which recorded token admitted it.
func spendJoinToken(b *pebble.Batch, info *ClusterInfo, cmd registryCommand) (bool, error) {
	if len(cmd.Secret) == 0 {
		return true, nil
	}
	if len(info.TokenHash) > 0 && subtle.ConstantTimeCompare(cmd.Secret, info.TokenHash) == 1 {
		return true, nil
	}
	key := regKey(regJoinToken, string(cmd.Secret))
	var rec JoinTokenRecord
	found, err := getCBOR(b, key, &rec)
	if err != nil || !found || rec.Uses < 1 || cmd.TS >= rec.Expires {
		return false, err
	}
	rec.Uses--
	cmd.Node.AdmittedBy = rec.ID
	return true, putCBOR(b, key, rec)
}
