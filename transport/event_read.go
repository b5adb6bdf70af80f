package transport

import (
	"fmt"

	"github.com/parleychat/parley"
)

// A subscription stream carries one Event frame per message, and a client
// following a busy room reads thousands a second, so ReadEvent reads them
// without the per-frame garbage of Read: a frame that fits the reader's
// buffer is decoded where it lies, a message event in the form the node
// writes (the map {1: message}) is decoded by parley.DecodeCanonicalMessage,
// and the message goes into storage the reader keeps. Any other frame is
// decoded as Read decodes it, so the result, value or error, is Read's.

// ReadEvent reads the next frame as an Event, as Read of an Event does. The
// returned Event's Msg may point into storage of the reader that the next
// ReadEvent overwrites: copy *Msg to keep it.
func (f *FrameReader) ReadEvent() (Event, error) {
	n, err := f.length()
	if err != nil {
		return Event{}, err
	}
	if n > f.r.Size() {
		body, err := readBody(f.r, n)
		if err != nil {
			return Event{}, bodyErr(err)
		}
		return f.decodeEvent(body)
	}
	body, err := f.r.Peek(n)
	if err != nil {
		return Event{}, bodyErr(err)
	}
	ev, err := f.decodeEvent(body)
	// The strings of the message were copied out of body.
	if _, derr := f.r.Discard(n); derr != nil && err == nil {
		err = bodyErr(derr)
	}
	return ev, err
}

// decodeEvent decodes one Event frame's body.
func (f *FrameReader) decodeEvent(body []byte) (Event, error) {
	// {1: message}: a map of one pair, key 1.
	if len(body) > 2 && body[0] == 0xa1 && body[1] == 0x01 && parley.DecodeCanonicalMessage(body[2:], &f.msg) {
		return Event{Msg: &f.msg}, nil
	}
	var ev Event
	if err := parley.Unmarshal(body, &ev); err != nil {
		return Event{}, fmt.Errorf("frame: %w: %w", parley.ErrMalformed, err)
	}
	return ev, nil
}
