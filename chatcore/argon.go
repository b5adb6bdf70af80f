package chatcore

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/parleychat/parley"
	"golang.org/x/crypto/argon2"
)

// ArgonParams are the argon2id parameters a password hash is made with.
// Every hash records its own, so a cluster may change profile and old
// hashes still verify.
type ArgonParams struct {
	// Time is the number of passes over the memory.
	Time uint32
	// MemoryKiB is the memory one hash takes, in KiB.
	MemoryKiB uint32
	// Threads is the parallelism.
	Threads uint8
}

// The argon2id profiles a cluster can be created with (ClusterInfo.Argon).
// Both are among OWASP's recommended equivalent settings for argon2id
// (Password Storage Cheat Sheet): the same resistance to guessing, traded
// between memory and passes.
var (
	// ArgonDefault is m=19 MiB, t=2, p=1.
	ArgonDefault = ArgonParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}
	// ArgonSmall is m=7 MiB, t=5, p=1: a third of the memory for a
	// Raspberry Pi with little RAM, at about the same CPU time.
	ArgonSmall = ArgonParams{Time: 5, MemoryKiB: 7 * 1024, Threads: 1}
)

// ParseArgonProfile returns the named argon2id profile: "small" or
// "default" ("" is "default").
func ParseArgonProfile(name string) (ArgonParams, error) {
	switch name {
	case "", "default":
		return ArgonDefault, nil
	case "small":
		return ArgonSmall, nil
	}
	return ArgonParams{}, fmt.Errorf("argon profile %q: want small or default: %w", name, parley.ErrInvalid)
}

// DefaultPasswordChecks is how many argon2id hashes a node computes at once
// unless Config.PasswordChecks says otherwise: 2, so that even a flood of
// logins keeps a Pi's memory for hashing near 2 × 19 MiB.
const DefaultPasswordChecks = 2

// passwordSlots bounds the password hashes a node computes at once.
type passwordSlots struct {
	sem chan struct{}
	// giveBack returns the hashes' memory to the OS as soon as no hash is
	// running (Profile.returnHashMemory): an argon2id hash takes 19 MiB
	// for a moment, and the Go runtime would otherwise keep it for
	// minutes, so that one login left an idle small node 19 MiB larger.
	giveBack bool
}

func newPasswordSlots(n int, giveBack bool) *passwordSlots {
	if n <= 0 {
		n = DefaultPasswordChecks
	}
	return &passwordSlots{sem: make(chan struct{}, n), giveBack: giveBack}
}

// do runs f in a slot, waiting for one until ctx ends.
func (s *passwordSlots) do(ctx context.Context, f func()) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("password check: %w: %w", parley.ErrUnavailable, ctx.Err())
	}
	func() {
		defer func() { <-s.sem }()
		f()
	}()
	if s.giveBack && len(s.sem) == 0 {
		// A full collection, then every free page back to the OS: a few
		// ms on a small heap, next to tens of ms of hashing.
		debug.FreeOSMemory()
	}
	return nil
}

const argonKeyLen = 32

// hashPassword returns the PHC-style string
// "argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<key>", base64.
func hashPassword(password string, p ArgonParams) ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Appendf(nil, "argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// checkPassword reports whether password matches a stored hash, in either
// the PHC-style form hashPassword makes or the older
// "argon2id$<salt>$<key>", which used ArgonDefault.
func checkPassword(stored []byte, password string) bool {
	parts := strings.Split(string(stored), "$")
	p := ArgonDefault
	switch {
	case len(parts) == 3 && parts[0] == "argon2id":
	case len(parts) == 5 && parts[0] == "argon2id" && parts[1] == "v="+strconv.Itoa(argon2.Version):
		var ok bool
		if p, ok = parseArgonParams(parts[2]); !ok {
			return false
		}
		parts = []string{parts[0], parts[3], parts[4]}
	default:
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// parseArgonParams parses "m=<KiB>,t=<passes>,p=<threads>", refusing
// values no profile uses (so a corrupt record cannot make a node hash with
// gigabytes).
func parseArgonParams(s string) (ArgonParams, bool) {
	var p ArgonParams
	var m, t, th uint64
	if _, err := fmt.Sscanf(s, "m=%d,t=%d,p=%d", &m, &t, &th); err != nil {
		return p, false
	}
	if m < 1024 || m > 256*1024 || t < 1 || t > 16 || th < 1 || th > 16 {
		return p, false
	}
	return ArgonParams{Time: uint32(t), MemoryKiB: uint32(m), Threads: uint8(th)}, true
}
