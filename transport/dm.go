package transport

import "strings"

// dmPrefix starts the name of every direct-message room.
const dmPrefix = "dm."

// maxUserName is the longest user name the cluster accepts.
const maxUserName = 32

// DMRoom returns the name of the direct-message room of users a and b:
// "dm.<x>.<y>" with x and y being a and b in byte order, so both users get
// the same name. User names have no '.', so the name is unambiguous. Only a
// and b may read, write or join that room. DMRoom does not check the names;
// DMParticipants does.
func DMRoom(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return dmPrefix + a + "." + b
}

// DMParticipants returns the two users of a direct-message room name, in
// byte order. ok is false unless room is "dm.<a>.<b>" with a and b valid,
// different user names and a < b.
func DMParticipants(room string) (a, b string, ok bool) {
	rest, found := strings.CutPrefix(room, dmPrefix)
	if !found {
		return "", "", false
	}
	a, b, found = strings.Cut(rest, ".")
	if !found || a >= b || !validUser(a) || !validUser(b) {
		return "", "", false
	}
	return a, b, true
}

// validUser reports whether name is a valid user name: 1 to 32 characters
// of a-z, 0-9, '-' and '_', starting with a letter or digit.
func validUser(name string) bool {
	if name == "" || len(name) > maxUserName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return false
		}
	}
	return true
}
