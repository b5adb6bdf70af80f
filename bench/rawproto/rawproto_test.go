package rawproto

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendRequest(b, Request{Op: OpPropose, Shard: 7, Payload: []byte("hello")})
	b = AppendResponse(b, Response{Status: StatusError, Value: 42, Err: "busy"})
	r := bytes.NewReader(b)
	req, err := ReadRequest(r, nil)
	if err != nil || req.Op != OpPropose || req.Shard != 7 || string(req.Payload) != "hello" {
		t.Fatalf("request: %+v, %v", req, err)
	}
	resp, err := ReadResponse(r, nil)
	if err != nil || resp != (Response{Status: StatusError, Value: 42, Err: "busy"}) {
		t.Fatalf("response: %+v, %v", resp, err)
	}
}

func TestRejectsBadFrames(t *testing.T) {
	if _, err := ReadRequest(bytes.NewReader([]byte{0xff, 0, 0, 0}), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge frame: %v", err)
	}
	if _, err := ReadRequest(bytes.NewReader([]byte{0, 0, 0, 3, 1, 2, 3}), nil); err == nil {
		t.Fatal("short frame accepted")
	}
}
