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

// writesRecorder keeps each write apart.
type writesRecorder struct{ writes [][]byte }

func (w *writesRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), p...))
	return len(p), nil
}

// TestWriteEventsGathers checks that writeEvents writes every frame once,
// in order, in writes of about eventWriteBytes, with the room's frames and
// without.
func TestWriteEventsGathers(t *testing.T) {
	var c frameCache
	for _, frames := range []*roomFrames{c.acquire("general"), nil} {
		var msgs []parley.Message
		var want []byte
		for seq := uint64(1); seq <= 600; seq++ {
			m := parley.Message{Room: "general", Seq: seq, ID: parley.NewMsgID(time.Unix(int64(seq), 0)), User: "ann", Text: string(bytes.Repeat([]byte("x"), 100))}
			msgs = append(msgs, m)
			var err error
			if want, err = transport.AppendFrame(want, transport.Event{Msg: &m}, transport.DefaultMaxFrame); err != nil {
				t.Fatal(err)
			}
		}
		var w writesRecorder
		if _, err := writeEvents(&w, nil, msgs, frames); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Join(w.writes, nil); !bytes.Equal(got, want) {
			t.Fatalf("wrote %d bytes, want the %d bytes of the frames", len(got), len(want))
		}
		if len(w.writes) < 2 {
			t.Fatalf("%d bytes in %d writes", len(want), len(w.writes))
		}
		for i, b := range w.writes {
			if len(b) > eventWriteBytes+200 || (i < len(w.writes)-1 && len(b) < eventWriteBytes) {
				t.Fatalf("write %d of %d bytes, gathering %d", i, len(b), eventWriteBytes)
			}
		}
	}
}
