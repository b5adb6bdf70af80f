package faults

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/parleychat/parley"
)

// History records every operation of a run with its invocation and
// completion time, for the checker.
type History struct {
	start time.Time

	mu  sync.Mutex
	ops []porcupine.Operation
	// sent maps every sent message id to its send.
	sent map[string]*Send
}

// Send is one recorded send.
type Send struct {
	Room string
	ID   string
	// Seq is the acknowledged seq, 0 if the outcome is unknown.
	Seq uint64
	// Err is why the outcome is unknown.
	Err error
}

// NewHistory starts an empty history; its clock starts now.
func NewHistory() *History {
	return &History{start: time.Now(), sent: make(map[string]*Send)}
}

// Now is the history's clock: nanoseconds since it started, monotonic.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// RecordSend records the send of id to room by client, invoked at call:
// acknowledged at seq if err is nil, else of unknown outcome. A send of
// unknown outcome may take effect at any later time, so it never
// completes for the checker.
func (h *History) RecordSend(clientID int, room string, id parley.MsgID, call int64, seq uint64, err error) {
	ret := h.Now()
	out := opOutput{Seq: seq}
	if err != nil {
		out, ret = opOutput{Unknown: true}, math.MaxInt64
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: clientID, Input: opInput{Room: room, Send: true, ID: id.String()},
		Call: call, Output: out, Return: ret,
	})
	h.sent[id.String()] = &Send{Room: room, ID: id.String(), Seq: seq, Err: err}
}

// RecordRead records a read of room's whole log by client, invoked at
// call, that returned msgs. A failed read changes nothing and is not
// recorded.
func (h *History) RecordRead(clientID int, room string, call int64, msgs []parley.Message) {
	ret := h.Now()
	ids := make([]string, len(msgs))
	out := opOutput{N: len(msgs)}
	for i, m := range msgs {
		ids[i] = m.ID.String()
		if m.Seq != uint64(i)+1 {
			out.Gap = true
		}
	}
	out.IDs = strings.Join(ids, ",")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: clientID, Input: opInput{Room: room}, Call: call, Output: out, Return: ret,
	})
}

// Ops returns a copy of the recorded operations.
func (h *History) Ops() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Sends returns every recorded send by message id.
func (h *History) Sends() map[string]Send {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]Send, len(h.sent))
	for id, s := range h.sent {
		out[id] = *s
	}
	return out
}

// Counts returns how many sends were acknowledged, how many had an
// unknown outcome, and how many reads were recorded.
func (h *History) Counts() (acked, unknown, reads int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.sent {
		if s.Err == nil {
			acked++
		} else {
			unknown++
		}
	}
	return acked, unknown, len(h.ops) - len(h.sent)
}
