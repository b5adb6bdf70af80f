package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/parleychat/parley"
)

// A join token is "<secret>.<CA fingerprint prefix>". The secret admits a
// node; the fingerprint lets the joining node check that it reached the
// right cluster before it sends the secret. The registry keeps only the
// token's hash.

// tokenFingerprintLen is how many hex digits of the CA fingerprint a token
// carries: 128 bits.
const tokenFingerprintLen = 32

// NewJoinToken makes a fresh join token for the cluster whose CA has the
// fingerprint caFingerprint (see Fingerprint).
func NewJoinToken(caFingerprint string) (string, error) {
	if len(caFingerprint) < tokenFingerprintLen {
		return "", fmt.Errorf("join token: CA fingerprint %q too short: %w", caFingerprint, parley.ErrInvalid)
	}
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("join token: %w", err)
	}
	enc := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret))
	return enc + "." + caFingerprint[:tokenFingerprintLen], nil
}

// TokenFingerprint returns the CA fingerprint prefix a join token carries,
// for checking the cluster before the token's secret is sent.
func TokenFingerprint(token string) (string, error) {
	secret, fp, ok := strings.Cut(token, ".")
	if !ok || secret == "" || len(fp) < tokenFingerprintLen {
		return "", fmt.Errorf("join token: not of the form SECRET.FINGERPRINT: %w", parley.ErrInvalid)
	}
	return fp, nil
}

// HashToken returns the SHA-256 of a join token, which the registry keeps
// instead of the token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CheckToken reports whether token is the one whose hash is hash, in
// constant time; a wrong token gets an error wrapping
// parley.ErrUnauthorized.
func CheckToken(token string, hash []byte) error {
	if subtle.ConstantTimeCompare(HashToken(token), hash) != 1 {
		return fmt.Errorf("join token: %w", parley.ErrUnauthorized)
	}
	return nil
}
