package chatcore

import (
	"fmt"
	"strings"
)

// DMPrefix starts the name of every direct-message room. The room of users
// a and b is "dm.<x>.<y>", x and y being a and b in byte order; user names
// have no '.', so the name says whose room it is. The wire protocol's
// transport.DMRoom and transport.DMParticipants build and split such names
// for clients; this package only checks them.
const DMPrefix = "dm."

// IsDMRoom reports whether room is named like a direct-message room (it
// starts with DMPrefix). ValidateRoom says whether the name is well formed.
func IsDMRoom(room string) bool { return strings.HasPrefix(room, DMPrefix) }

// dmParticipants splits a direct-message room name into its two users; ok
// is false unless they are valid, different and in order.
func dmParticipants(room string) (a, b string, ok bool) {
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
	a, b, ok := dmParticipants(room)
	if !ok {
		return ValidateRoom(room)
	}
	if user != a && user != b {
		return fmt.Errorf("room %s: direct messages of %s and %s: %w", room, a, b, ErrForbidden)
	}
	return nil
}
