package chatcore

import "testing"

// TestOwnRetryIsNotADuplicate: when a batch re-proposed after a leader
// change commits twice, the sender made one send and hears no duplicate;
// a send retried by the sender (a new call, a new time) is one.
func TestOwnRetryIsNotADuplicate(t *testing.T) {
	cmd := roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{1}, TS: 1000, Text: "hi"}
	for _, c := range []struct {
		name string
		item batchItem
		want bool
	}{
		{"fresh", batchItem{Seq: 7, TS: 1000}, false},
		{"own earlier copy", batchItem{Seq: 7, TS: 1000, Duplicate: true}, false},
		{"sender's retry", batchItem{Seq: 7, TS: 900, Duplicate: true}, true},
	} {
		got := ownRetry(c.item, cmd)
		if got.Duplicate != c.want || got.Seq != c.item.Seq || got.TS != c.item.TS {
			t.Errorf("%s: %+v, want duplicate %v with seq and time unchanged", c.name, got, c.want)
		}
	}
}
