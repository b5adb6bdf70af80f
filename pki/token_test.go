package pki

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

func TestJoinToken(t *testing.T) {
	ca := newTestCA(t, "c1")
	fp := Fingerprint(ca.Cert.Raw)
	token, err := NewJoinToken(fp)
	if err != nil {
		t.Fatal(err)
	}
	got, err := TokenFingerprint(token)
	if err != nil || !strings.HasPrefix(fp, got) {
		t.Fatalf("TokenFingerprint(%q) = %q, %v; want a prefix of %q", token, got, err, fp)
	}
	if err := CheckToken(token, HashToken(token)); err != nil {
		t.Fatalf("the token's own hash: %v", err)
	}
	other, err := NewJoinToken(fp)
	if err != nil {
		t.Fatal(err)
	}
	if other == token {
		t.Fatal("two tokens are equal")
	}
	if err := CheckToken(other, HashToken(token)); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("another token: %v, want ErrUnauthorized", err)
	}
}

func TestJoinTokenRefusesBadInput(t *testing.T) {
	for _, bad := range []string{"", "secret", "secret.", ".0123456789abcdef0123456789abcdef", "secret.0123"} {
		if _, err := TokenFingerprint(bad); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("TokenFingerprint(%q): %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := NewJoinToken("abc"); !errors.Is(err, parley.ErrInvalid) {
		t.Errorf("NewJoinToken of a short fingerprint: %v", err)
	}
}
