package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/parleychat/parley"
)

// The browser's protocol. A web page cannot speak QUIC to a plain-HTTP
// LAN node, so the web client speaks the same operations over one
// WebSocket (path /ws on a node's HTTP address) in JSON text frames, one
// frame per WebSocket message. The bodies are the types of this package
// with their Go field names as JSON keys (MsgID as its 26-character text);
// only the envelopes below are the WebSocket's own. Subscription events,
// which QUIC carries on a stream per subscription, come on the one socket
// tagged with the subscription's id.

// MaxWebFrame bounds a frame from a browser.
const MaxWebFrame = 64 << 10

// WebClientFrame is one frame a browser sends: first a Hello, then requests
// (ID, Op, Body, as Request) or the cancellation of a subscription (Unsub,
// the subscription's id). Exactly one of the three is set.
type WebClientFrame struct {
	Hello *Hello          `json:"hello,omitempty"`
	ID    uint64          `json:"id,omitempty"`
	Op    string          `json:"op,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
	Unsub uint64          `json:"unsub,omitempty"`
}

// WebServerFrame is one frame a node sends a browser: the Welcome, a
// response, or events of subscription Sub.
type WebServerFrame struct {
	Welcome *Welcome     `json:"welcome,omitempty"`
	Resp    *WebResponse `json:"resp,omitempty"`
	Sub     uint64       `json:"sub,omitempty"`
	Events  []Event      `json:"events,omitempty"`
}

// WebResponse answers the request with the same ID: Error or Body (the
// operation's response type).
type WebResponse struct {
	ID    uint64 `json:"id"`
	Error *Error `json:"error,omitempty"`
	Body  any    `json:"body,omitempty"`
}

// DecodeWebFrame decodes one frame from a browser. A frame over
// MaxWebFrame is ErrFrameTooLarge; anything but exactly one JSON object
// with known keys and exactly one of hello, op and unsub is ErrMalformed.
func DecodeWebFrame(data []byte) (WebClientFrame, error) {
	var f WebClientFrame
	if len(data) > MaxWebFrame {
		return f, fmt.Errorf("web frame of %d bytes over %d: %w", len(data), MaxWebFrame, ErrFrameTooLarge)
	}
	if err := DecodeWebBody(data, &f); err != nil {
		return WebClientFrame{}, err
	}
	n := 0
	if f.Hello != nil {
		n++
	}
	if f.Op != "" {
		n++
	}
	if f.Unsub != 0 {
		n++
	}
	if n != 1 {
		return WebClientFrame{}, fmt.Errorf("web frame: want exactly one of hello, op, unsub: %w", parley.ErrMalformed)
	}
	return f, nil
}

// DecodeWebBody decodes exactly one JSON value into v, refusing unknown
// keys and trailing data (parley.ErrMalformed).
func DecodeWebBody(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("web frame: %v: %w", err, parley.ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("web frame: trailing data: %w", parley.ErrMalformed)
	}
	return nil
}

// EncodeWebFrame encodes a frame for a browser; a frame over max is
// ErrFrameTooLarge.
func EncodeWebFrame(f WebServerFrame, max int) ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("web frame: %w", err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("web frame of %d bytes over %d: %w", len(b), max, ErrFrameTooLarge)
	}
	return b, nil
}
