package daemon

import (
	"bytes"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// TestRoomFramesShareEncodings checks that a room's shared frames are the
// frames each subscriber would have encoded, also when a later message
// takes an earlier one's slot in the ring, and that the last release drops
// the room.
func TestRoomFramesShareEncodings(t *testing.T) {
	var c frameCache
	a, b := c.acquire("general"), c.acquire("general")
	if a != b {
		t.Fatal("two subscriptions of one room got different frames")
	}
	msgs := map[uint64]*parley.Message{} // a seq names one message for good
	msg := func(seq uint64) *parley.Message {
		if msgs[seq] == nil {
			msgs[seq] = &parley.Message{Room: "general", Seq: seq, ID: parley.NewMsgID(time.Unix(int64(seq), 0)), User: "ann", Text: "hi " + string(rune('a'+seq%26))}
		}
		return msgs[seq]
	}
	for _, seq := range []uint64{1, 2, 1 + eventRing, 2, 1} {
		m := msg(seq)
		want, err := transport.AppendFrame([]byte("x"), transport.Event{Msg: m}, transport.DefaultMaxFrame)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*roomFrames{a, b, nil} {
			got, err := r.appendFrame([]byte("x"), m)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("seq %d: frame %x, %v; want %x", seq, got, err, want)
			}
		}
	}
	c.release("general")
	if c.rooms["general"] == nil {
		t.Fatal("room dropped while a subscription still holds it")
	}
	c.release("general")
	if len(c.rooms) != 0 {
		t.Fatalf("rooms left after the last release: %v", c.rooms)
	}
}
