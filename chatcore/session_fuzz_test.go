package chatcore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzSessionToken feeds arbitrary text to the session token parser, as a
// client's hello carries it: it never panics, and accepts only a token
// signed with the secret.
func FuzzSessionToken(f *testing.F) {
	secret := []byte("fuzz-secret")
	sign := func(body []byte) string {
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		enc := base64.RawURLEncoding
		return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil))
	}
	v2 := binary.BigEndian.AppendUint64([]byte{sessionTokenV2}, 1<<40)
	v2 = binary.BigEndian.AppendUint64(v2, 7)
	f.Add(sign(append(v2, "ada"...)))
	f.Add(sign(append(binary.BigEndian.AppendUint64(nil, 1<<40), "bob"...)))
	f.Add(sign([]byte{sessionTokenV2, 1, 2}))
	f.Add("x.y")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		user, _, _, err := parseSessionToken(secret, token)
		if err != nil {
			return
		}
		b64body, b64mac, _ := strings.Cut(token, ".")
		body, err1 := base64.RawURLEncoding.DecodeString(b64body)
		mac, err2 := base64.RawURLEncoding.DecodeString(b64mac)
		if err1 != nil || err2 != nil || !hmac.Equal(mac, sumOf(secret, body)) {
			t.Fatalf("accepted a token not signed with the secret: %q", token)
		}
		if len(user) >= len(body) {
			t.Fatalf("user %q not shorter than the body", user)
		}
	})
}

func sumOf(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}
