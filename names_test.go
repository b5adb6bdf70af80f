package parley_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

func TestUserNamesHaveNoDots(t *testing.T) {
	for _, ok := range []string{"alice", "a", "0x", "bob_2", "carol-b", strings.Repeat("z", parley.MaxUserName)} {
		if err := parley.ValidateUser(ok); err != nil {
			t.Errorf("ValidateUser(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a.b", "alice.", "-a", "_a", "Alice", "a b", strings.Repeat("z", parley.MaxUserName+1)} {
		if err := parley.ValidateUser(bad); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("ValidateUser(%q): %v, want ErrInvalid", bad, err)
		}
	}
	// Room and node names keep their dots.
	if parley.ValidateRoom("team.ops") != nil || parley.ValidateNodeName("pi-1.lan") != nil {
		t.Fatal("a dotted room or node name is refused")
	}
}

// dmNames are room names around the direct-message rule.
var dmNames = []string{
	"dm.alice.bob", "dm.a.b", "dm.0.z_-9",
	"dm." + strings.Repeat("a", 32) + "." + strings.Repeat("b", 32),
	"dm", "dm.", "dm.alice", "dm.alice.", "dm..bob", "dm.bob.alice", "dm.alice.alice",
	"dm.alice.bob.carol", "dm.Alice.bob", "dm.-a.bob", "dm.alice.b ob",
	"dm.alice." + strings.Repeat("b", 33), "xdm.alice.bob", "dmx.alice.bob", "general",
}

func TestDMRoomNames(t *testing.T) {
	for _, room := range dmNames {
		a, b, dm := parley.DMParticipants(room)
		err := parley.ValidateRoom(room)
		switch {
		case dm && err != nil:
			t.Errorf("%q: DMParticipants says the DM of %s and %s, ValidateRoom refuses it: %v", room, a, b, err)
		case !dm && parley.IsDMRoom(room) && !errors.Is(err, parley.ErrInvalid):
			t.Errorf("%q: not a DM name for DMParticipants, ValidateRoom says %v", room, err)
		case !dm && !parley.IsDMRoom(room) && err != nil:
			t.Errorf("%q: a public room name refused: %v", room, err)
		}
		if !dm {
			continue
		}
		if got := parley.DMRoom(b, a); got != room {
			t.Errorf("DMRoom(%q, %q) = %q, want %q", b, a, got, room)
		}
		for _, u := range []string{a, b} {
			if err := parley.CheckAccess(room, u); err != nil {
				t.Errorf("CheckAccess(%q, %q): %v", room, u, err)
			}
		}
		if err := parley.CheckAccess(room, "mallory"); !errors.Is(err, parley.ErrForbidden) {
			t.Errorf("CheckAccess(%q, mallory): %v, want ErrForbidden", room, err)
		}
	}
	if err := parley.CheckAccess("general", "mallory"); err != nil {
		t.Errorf("a public room is closed: %v", err)
	}
}
