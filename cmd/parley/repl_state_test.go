package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUnread(t *testing.T) {
	cases := []struct{ last, seen, want uint64 }{
		{0, 0, 0}, {10, 0, 10}, {10, 4, 6}, {10, 10, 0}, {3, 10, 0},
	}
	for _, c := range cases {
		if got := unread(c.last, c.seen); got != c.want {
			t.Errorf("unread(%d, %d) = %d, want %d", c.last, c.seen, got, c.want)
		}
	}
}

func TestCatchUpFrom(t *testing.T) {
	cases := []struct {
		last, seen uint64
		want       uint64
	}{
		{0, 0, 1}, {1, 0, 1}, {5, 0, 1}, {10, 0, 1}, {11, 0, 2}, {100, 0, 91},
		{100, 95, 96}, {100, 100, 101}, {100, 50, 91},
	}
	for _, c := range cases {
		if got := catchUpFrom(c.last, c.seen, 10); got != c.want {
			t.Errorf("catchUpFrom(%d, %d, 10) = %d, want %d", c.last, c.seen, got, c.want)
		}
	}
}

func TestEarlierUnseen(t *testing.T) {
	cases := []struct{ from, seen, printed, want uint64 }{
		{1, 0, 0, 0},    // a new room
		{91, 0, 0, 0},   // never seen here: no claim
		{91, 50, 0, 40}, // 51..90 unseen
		{91, 50, 80, 10},
		{91, 90, 0, 0},
		{91, 95, 0, 0},
	}
	for _, c := range cases {
		if got := earlierUnseen(c.from, c.seen, c.printed); got != c.want {
			t.Errorf("earlierUnseen(%d, %d, %d) = %d, want %d", c.from, c.seen, c.printed, got, c.want)
		}
	}
}

func TestSeenStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley", seenFile)
	s, err := loadSeen(path, "alice")
	if err != nil || s.get("general") != 0 {
		t.Fatalf("missing file: %v, %v", s.rooms, err)
	}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("nothing marked, yet saved: %v", err)
	}
	s.mark("general", 7)
	s.mark("general", 3) // never backwards
	s.mark("random", 2)
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}
	again, err := loadSeen(path, "alice")
	if err != nil || again.get("general") != 7 || again.get("random") != 2 {
		t.Fatalf("reloaded: %v, %v", again.rooms, err)
	}
	bob, err := loadSeen(path, "bob")
	if err != nil || len(bob.rooms) != 0 {
		t.Fatalf("bob sees alice's state: %v, %v", bob.rooms, err)
	}
	// Two sessions of alice and one of bob share the file: saves merge,
	// keeping the highest seq.
	again.mark("general", 9)
	s.mark("random", 5)
	bob.mark("general", 1)
	for _, st := range []*seenState{again, s, bob} {
		if err := st.save(); err != nil {
			t.Fatal(err)
		}
	}
	final, err := loadSeen(path, "alice")
	if err != nil || final.get("general") != 9 || final.get("random") != 5 {
		t.Fatalf("merged: %v, %v", final.rooms, err)
	}
	if b, _ := loadSeen(path, "bob"); b.get("general") != 1 {
		t.Fatalf("bob's state lost: %v", b.rooms)
	}
	tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	if len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

func TestSeenStateCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), seenFile)
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadSeen(path, "alice")
	if err == nil {
		t.Fatal("a corrupt state file was read without error")
	}
	s.mark("general", 4)
	if err := s.save(); err != nil {
		t.Fatalf("a corrupt state file is not replaced: %v", err)
	}
	if again, err := loadSeen(path, "alice"); err != nil || again.get("general") != 4 {
		t.Fatalf("replaced file: %v, %v", again.rooms, err)
	}
}

func TestSeenStateWithoutPath(t *testing.T) {
	s, err := loadSeen("", "alice")
	if err != nil {
		t.Fatal(err)
	}
	s.mark("general", 3)
	if err := s.save(); err != nil || s.get("general") != 3 {
		t.Fatalf("save without a path: %v", err)
	}
}
