package parley

import (
	"fmt"
	"time"
)

// Kinds of message. A chat message has the empty kind; the others are
// notices a room's state machine writes itself.
const (
	// KindJoin is the notice of a user joining the room: "alice joined".
	KindJoin = "join"
	// KindLeave is the notice of a user leaving the room: "alice left".
	KindLeave = "leave"
)

// Message is one committed chat message, or a notice the room wrote itself
// (see Kind).
type Message struct {
	Room string
	// Seq is the message's place in its room: 1, 2, 3 … with no gaps.
	Seq uint64
	// ID is the id the sender made; a retried send with the same id is
	// committed once.
	ID   MsgID
	User string
	// TS is the time the proposing node stamped into the entry.
	TS   time.Time
	Text string
	// Kind is "" for a chat message, KindJoin or KindLeave for the notice
	// of User joining or leaving the room (Text is then "alice joined" or
	// "alice left").
	Kind string
}

// messageWire is Message as it travels: TS is Unix nanoseconds.
type messageWire struct {
	Room string `cbor:"1,keyasint"`
	Seq  uint64 `cbor:"2,keyasint"`
	ID   MsgID  `cbor:"3,keyasint"`
	User string `cbor:"4,keyasint"`
	TS   int64  `cbor:"5,keyasint"`
	Text string `cbor:"6,keyasint"`
	Kind string `cbor:"7,keyasint,omitempty"`
}

// UnixTime turns Unix nanoseconds, the form timestamps are stored and sent
// in, into a time in UTC.
func UnixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// MarshalCBOR implements cbor.Marshaler: a map with integer keys, the time
// as Unix nanoseconds.
func (m Message) MarshalCBOR() ([]byte, error) {
	return Marshal(messageWire{Room: m.Room, Seq: m.Seq, ID: m.ID, User: m.User, TS: m.TS.UnixNano(), Text: m.Text, Kind: m.Kind})
}

// UnmarshalCBOR implements cbor.Unmarshaler with the network limits. The
// form Marshal writes is read directly (DecodeCanonicalMessage).
func (m *Message) UnmarshalCBOR(data []byte) error {
	if DecodeCanonicalMessage(data, m) {
		return nil
	}
	var w messageWire
	if err := Unmarshal(data, &w); err != nil {
		return fmt.Errorf("message: %w", err)
	}
	*m = Message{Room: w.Room, Seq: w.Seq, ID: w.ID, User: w.User, TS: UnixTime(w.TS), Text: w.Text, Kind: w.Kind}
	return nil
}
