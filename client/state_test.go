package client

import "testing"

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		Connected:    "connected",
		Reconnecting: "reconnecting",
		Reconnected:  "reconnected",
		Closed:       "closed",
		State(0):     "State(0)",
		State(99):    "State(99)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}
