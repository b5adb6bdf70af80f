package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// These tests feed a Subscription a stream the real server never sends (a
// gap, a final error), from bytes: no server, no network.

// scriptedStream returns a subscription stream carrying events, then EOF.
func scriptedStream(t *testing.T, events ...transport.Event) *subStream {
	t.Helper()
	var b bytes.Buffer
	for _, ev := range events {
		if err := transport.WriteFrame(&b, ev, transport.DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
	}
	return &subStream{fr: transport.NewFrameReader(&b, transport.DefaultMaxFrame)}
}

func msgEvent(seq uint64) transport.Event {
	return transport.Event{Msg: &parley.Message{Room: "general", Seq: seq}}
}

// offlineSubscription returns a Subscription of a Client with no
// connection, delivering from seq from.
func offlineSubscription(t *testing.T, from uint64) *Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &Client{log: slog.New(slog.DiscardHandler), ctx: ctx, cancel: cancel, ready: make(chan struct{})}
	sctx, scancel := context.WithCancel(ctx)
	return &Subscription{
		c: c, room: "general", ch: make(chan parley.Message, 16),
		ctx: sctx, cancel: scancel, done: make(chan struct{}), cur: newCursor(from),
	}
}

func TestPumpStopsAtGap(t *testing.T) {
	s := offlineSubscription(t, 1)
	err := s.pump(scriptedStream(t, msgEvent(1), msgEvent(2), msgEvent(2), msgEvent(4), msgEvent(5)))
	if !errors.Is(err, errGap) {
		t.Fatalf("pump = %v, want a gap", err)
	}
	if len(s.ch) != 2 || s.cur.resumeFrom() != 3 {
		t.Fatalf("delivered %d, resumes from %d; want 2 delivered, resume from 3", len(s.ch), s.cur.resumeFrom())
	}
	if d, ok := retryDelay(err, new(backoff)); !ok || d < 0 {
		t.Fatalf("a gap is not retried: %v %v", d, ok)
	}
}

func TestPumpStreamEnd(t *testing.T) {
	s := offlineSubscription(t, 1)
	err := s.pump(scriptedStream(t, msgEvent(1)))
	if !errors.Is(err, errStreamEnded) {
		t.Fatalf("pump = %v, want the stream ended", err)
	}
}

// TestSubscriptionEndedByNode: a final error from the node ends the
// Subscription with that error, after the messages before it.
func TestSubscriptionEndedByNode(t *testing.T) {
	s := offlineSubscription(t, 1)
	forbidden := transport.Errorf(transport.CodeForbidden, "removed from general")
	s.run(scriptedStream(t, msgEvent(1), transport.Event{Error: forbidden}, msgEvent(2)), func() bool { return true })
	var got []uint64
	for m := range s.C() {
		got = append(got, m.Seq)
	}
	if len(got) != 1 || got[0] != 1 {
		t.Fatalf("delivered %v, want [1]", got)
	}
	if transport.CodeOf(s.Err()) != transport.CodeForbidden {
		t.Fatalf("Err = %v, want forbidden", s.Err())
	}
}
