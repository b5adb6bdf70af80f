package main

import (
	"slices"
	"testing"
)

func TestCompleteWord(t *testing.T) {
	rooms := []string{"general", "gossip", "random"}
	users := []string{"alice", "alfred", "bob"}
	cases := []struct {
		line       string
		pos        int
		head, tail string
		items      []string
	}{
		{"/jo", 3, "", "", []string{"/join "}},
		{"/", 1, "", "", []string{"/join ", "/leave ", "/rooms ", "/who ", "/history ", "/msg ", "/status ", "/stats ", "/search ", "/help ", "/quit "}},
		{"/h", 2, "", "", []string{"/history ", "/help "}},
		{"/join g", 7, "/join ", "", []string{"general ", "gossip "}},
		{"/leave r", 8, "/leave ", "", []string{"random "}},
		{"/who ", 5, "/who ", "", []string{"general ", "gossip ", "random "}},
		{"/join general x", 15, "/join general ", "", nil},
		{"/msg al", 7, "/msg ", "", []string{"alice ", "alfred "}},
		{"/msg bob hi al", 14, "/msg bob hi ", "", []string{"alice ", "alfred "}},
		{"/status x", 9, "/status ", "", nil},
		{"hi b", 4, "hi ", "", []string{"bob "}},
		{"b", 1, "", "", []string{"bob "}},
		{"hi @al", 6, "hi ", "", []string{"@alice ", "@alfred "}},
		// The cursor inside the line: the tail is kept, no second space.
		{"hi bo there", 5, "hi ", " there", []string{"bob"}},
		{"héllo bo", 8, "héllo ", "", []string{"bob "}},
		{"nobody", 6, "", "", nil},
	}
	for _, c := range cases {
		head, items, tail := completeWord(c.line, c.pos, rooms, users)
		if head != c.head || tail != c.tail || !slices.Equal(items, c.items) {
			t.Errorf("completeWord(%q, %d) = %q, %q, %q; want %q, %q, %q", c.line, c.pos, head, items, tail, c.head, c.items, c.tail)
		}
	}
}

func TestCompleterNames(t *testing.T) {
	c := newCompleter()
	c.setRooms([]string{"b", "a", "b"})
	c.addRoom("c")
	c.addRoom("a")
	c.addUsers("zed", "", "amy", "zed")
	if _, items, _ := c.complete("/join ", 6); !slices.Equal(items, []string{"a ", "b ", "c "}) {
		t.Errorf("rooms: %q", items)
	}
	if _, items, _ := c.complete("", 0); !slices.Equal(items, []string{"amy ", "zed "}) {
		t.Errorf("users: %q", items)
	}
}
