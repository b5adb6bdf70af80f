package client

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// SendResult tells where a sent message was committed.
type SendResult struct {
	// Room is the room the message went to.
	Room string
	// Seq is the message's number in the room.
	Seq uint64
	// ID is the message id the Client sent.
	ID parley.MsgID
	// TS is the commit-time stamp the cluster gave the message.
	TS time.Time
	// Duplicate is true when the cluster had already committed this id
	// (a retry of an acknowledged send); Seq and TS are then the
	// original's.
	Duplicate bool
}

// Send sends text to room as one message with a fresh message id and waits
// until a majority of the room's replicas has committed it. If the
// connection is lost meanwhile, the message is sent again with the same id
// on the next connection (the cluster drops the duplicate), until it is
// acknowledged or ctx ends; so is a send refused as unavailable or
// rate_limited, after the node's retry hint. Other refusals are returned as
// a *transport.Error. If ctx ends first, or the cluster cannot commit
// (no quorum, a full disk), the message may or may not have been
// committed: the error is then an *OutcomeUnknownError (errors.Is
// ErrOutcomeUnknown) that carries the message id, to retry with SendID.
func (c *Client) Send(ctx context.Context, room, text string) (SendResult, error) {
	return c.SendID(ctx, room, parley.NewMsgID(time.Now()), text)
}

// SendID is Send with a message id chosen by the caller (see
// parley.NewMsgID). Sending the same id to the same room again, within
// the cluster's deduplication window, commits nothing new and returns the
// original seq with Duplicate set.
func (c *Client) SendID(ctx context.Context, room string, id parley.MsgID, text string) (SendResult, error) {
	if id.IsZero() {
		return SendResult{}, fmt.Errorf("send: %w", transport.Errorf(transport.CodeInvalid, "zero message id"))
	}
	if room == "" {
		return SendResult{}, fmt.Errorf("send: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	req := transport.SendRequest{Room: room, ID: id, Text: text}
	var resp transport.SendResponse
	if err := c.do(ctx, transport.OpSend, req, &resp); err != nil {
		return SendResult{}, sendOutcome(room, id, err)
	}
	return sendResult(req, resp), nil
}

// sendResult turns a response into a SendResult, filling what the node
// left out from the request.
func sendResult(req transport.SendRequest, resp transport.SendResponse) SendResult {
	r := SendResult{
		Room:      resp.Room,
		Seq:       resp.Seq,
		ID:        resp.ID,
		TS:        time.Unix(0, resp.TS),
		Duplicate: resp.Duplicate,
	}
	if r.Room == "" {
		r.Room = req.Room
	}
	if r.ID.IsZero() {
		r.ID = req.ID
	}
	return r
}
