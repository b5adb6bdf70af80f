package bench

import "strings"

// payload returns the message every load sends: size bytes of printable
// ASCII, the same for Parley and its peers.
func payload(size int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	return strings.Repeat(alphabet, size/len(alphabet)+1)[:size]
}
