package client

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

func TestSendIDRejectsZeroID(t *testing.T) {
	var c Client // never touches the network: the id is checked first
	_, err := c.SendID(context.Background(), "general", parley.MsgID{}, "hi")
	if transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("SendID with a zero id = %v, want an invalid error", err)
	}
}

func TestSendRejectsEmptyRoom(t *testing.T) {
	var c Client
	_, err := c.Send(context.Background(), "", "hi")
	if transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("Send to no room = %v, want an invalid error", err)
	}
}

func TestSendResult(t *testing.T) {
	id := parley.NewMsgID(time.Now())
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	req := transport.SendRequest{Room: "general", ID: id, Text: "hi"}
	r := sendResult(req, transport.SendResponse{Seq: 12, TS: ts.UnixNano(), Duplicate: true})
	if r.Room != "general" || r.ID != id || r.Seq != 12 || !r.TS.Equal(ts) || !r.Duplicate {
		t.Fatalf("sendResult = %+v", r)
	}
	other := parley.NewMsgID(time.Now())
	r = sendResult(req, transport.SendResponse{Room: "x", ID: other, Seq: 1})
	if r.Room != "x" || r.ID != other {
		t.Fatalf("sendResult did not keep the node's answer: %+v", r)
	}
}

func TestNewMsgIDsAreDistinctAndOrdered(t *testing.T) {
	a := parley.NewMsgID(time.UnixMilli(1000))
	b := parley.NewMsgID(time.UnixMilli(2000))
	if a == b || a.IsZero() || a.String() >= b.String() {
		t.Fatalf("ids %s, %s: want distinct, non-zero, time-ordered", a, b)
	}
	p, err := parley.ParseMsgID(a.String())
	if err != nil || p != a {
		t.Fatalf("ParseMsgID(%s) = %s, %v", a, p, err)
	}
}
