package parley

import (
	"fmt"
	"strings"
)

// DMPrefix starts the name of every direct-message room. The room of users
// a and b is "dm.<x>.<y>", x and y being a and b in byte order; user names
// have no '.', so the name says whose room it is.
const DMPrefix = "dm."

// DMRoom returns the name of the direct-message room of users a and b:
// "dm.<x>.<y>" with x and y being a and b in byte order, so both users get
// the same name. Only a and b may read, write or join that room. DMRoom
// does not check the names; DMParticipants and ValidateRoom do.
func DMRoom(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return DMPrefix + a + "." + b
}

// IsDMRoom reports whether room is named like a direct-message room (it
// starts with DMPrefix). ValidateRoom says whether the name is well formed.
func IsDMRoom(room string) bool { return strings.HasPrefix(room, DMPrefix) }

// DMParticipants splits a direct-message room name into its two users, in
// byte order; ok is false unless room is "dm.<a>.<b>" with a and b valid,
// different user names and a < b.
func DMParticipants(room string) (a, b string, ok bool) {
	rest, found := strings.CutPrefix(room, DMPrefix)
	if !found {
		return "", "", false
	}
	a, b, found = strings.Cut(rest, ".")
	if !found || a >= b || ValidateUser(a) != nil || ValidateUser(b) != nil {
		return "", "", false
	}
	return a, b, true
}

// CheckAccess reports whether user may read, write, join, leave and list
// the members of room. Every account may use every public room; a
// direct-message room is its two participants' only, and anyone else gets
// an error wrapping ErrForbidden. A malformed direct-message name gets one
// wrapping ErrInvalid.
func CheckAccess(room, user string) error {
	if !IsDMRoom(room) {
		return nil
	}
	a, b, ok := DMParticipants(room)
	if !ok {
		return ValidateRoom(room)
	}
	if user != a && user != b {
		return fmt.Errorf("room %s: direct messages of %s and %s: %w", room, a, b, ErrForbidden)
	}
	return nil
}
