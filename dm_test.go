package parley

import (
	"strings"
	"testing"
)

func TestDMRoom(t *testing.T) {
	if got, other := DMRoom("bob", "alice"), DMRoom("alice", "bob"); got != "dm.alice.bob" || other != got {
		t.Fatalf("DMRoom: %q and %q, want dm.alice.bob twice", got, other)
	}
	long := strings.Repeat("z", MaxUserName)
	for _, pair := range [][2]string{{"alice", "bob"}, {"a", "b"}, {"0", "z_-9"}, {long, "a" + long[1:]}} {
		room := DMRoom(pair[0], pair[1])
		a, b, ok := DMParticipants(room)
		if !ok || a+"|"+b != min(pair[0], pair[1])+"|"+max(pair[0], pair[1]) {
			t.Errorf("DMParticipants(%q) = %q, %q, %v", room, a, b, ok)
		}
	}
}

func TestDMParticipantsRefuses(t *testing.T) {
	for _, room := range []string{
		"", "general", "dm", "dm.", "dm.alice", "dm.alice.", "dm..bob", "dm.bob.alice",
		"dm.alice.alice", "dm.alice.bob.carol", "dm.Alice.bob", "dm.-a.bob", "dm.alice.b ob",
		"dm.alice." + strings.Repeat("b", MaxUserName+1), "xdm.alice.bob",
	} {
		if a, b, ok := DMParticipants(room); ok {
			t.Errorf("DMParticipants(%q) = %q, %q, true; want false", room, a, b)
		}
	}
}
