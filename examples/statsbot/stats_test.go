package main

import (
	"testing"
	"time"

	"github.com/parleychat/parley"
)

func TestStats(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newStats("statsbot", start)
	msgs := []struct {
		m   parley.Message
		ask bool
	}{
		{parley.Message{User: "alice", Text: "alice joined", Kind: parley.KindJoin}, false},
		{parley.Message{User: "alice", Text: "hi"}, false},
		{parley.Message{User: "bob", Text: "  !stats \n"}, true},
		{parley.Message{User: "statsbot", Text: "!stats"}, false},
		{parley.Message{User: "alice", Text: "!stats please"}, false},
	}
	for i, c := range msgs {
		if got := s.observe(c.m); got != c.ask {
			t.Errorf("message %d %+v: asks %v, want %v", i, c.m, got, c.ask)
		}
	}
	want := "stats: 3 messages seen from 2 users; up 1m30s"
	if got := s.answer(start.Add(90*time.Second + 200*time.Millisecond)); got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
}
