package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// subBuffer is how many messages a Subscription holds for a slow consumer
// before it stops reading its stream (which then pushes back on the node
// for that room only).
var subBuffer = 256

// Subscription is a live feed of one room's messages. Each message arrives
// once, in seq order, with no gap, across reconnections. Make one with
// Client.Subscribe and stop it with Close or by ending its context.
type Subscription struct {
	c    *Client
	room string
	ch   chan parley.Message

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why ch closed; set before done closes

	cur cursor // owned by the goroutine reading the stream
}

// Subscribe starts a feed of room's messages from seq from on (0: only
// messages committed from now on). It returns once the node has confirmed
// the subscription, or with the node's refusal (such as not_found or
// forbidden) as a *transport.Error. ctx bounds the whole life of the
// Subscription, not just this call: when it ends, so does the feed.
func (c *Client) Subscribe(ctx context.Context, room string, from uint64) (*Subscription, error) {
	if room == "" {
		return nil, fmt.Errorf("subscribe: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	sctx, cancel := context.WithCancel(ctx)
	stopClose := context.AfterFunc(c.ctx, cancel)
	s := &Subscription{
		c:      c,
		room:   room,
		ch:     make(chan parley.Message, subBuffer),
		ctx:    sctx,
		cancel: cancel,
		done:   make(chan struct{}),
		cur:    newCursor(from),
	}
	st, err := s.connect()
	if err != nil {
		stopClose()
		cancel()
		switch {
		case c.ctx.Err() != nil:
			err = ErrClosed
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			err = ctx.Err()
		}
		return nil, fmt.Errorf("subscribe %s: %w", room, err)
	}
	if !c.goTracked(func() { s.run(st, stopClose) }) {
		st.cancel()
		stopClose()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", room, ErrClosed)
	}
	return s, nil
}

// C returns the channel of messages. It is closed when the Subscription
// ends; Err then tells why.
func (s *Subscription) C() <-chan parley.Message { return s.ch }

// Err returns why C was closed: nil after Close, Client.Close or the end of
// the Subscription's context; the node's *transport.Error if it ended the
// subscription for good (say, the room's access was revoked). It returns nil
// while C is open.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close stops the Subscription and waits until C is closed. Messages
// already buffered in C can still be read.
func (s *Subscription) Close() {
	s.cancel()
	<-s.done
}

// connect subscribes on the live connection from where the cursor stands,
// retrying across reconnects and retryable refusals.
func (s *Subscription) connect() (*subStream, error) {
	bo := newBackoff()
	for {
		cn, err := s.c.current(s.ctx)
		if err != nil {
			return nil, err
		}
		st, err := s.open(cn)
		if err == nil {
			return st, nil
		}
		if s.ctx.Err() != nil {
			return nil, s.ctx.Err()
		}
		d, ok := retryDelay(err, &bo)
		if !ok {
			return nil, err
		}
		s.c.log.Debug("subscribe failed; retrying", "room", s.room, "after", d, "err", err)
		if err := s.c.sleep(s.ctx, d); err != nil {
			return nil, err
		}
	}
}

// open makes one subscription attempt on cn: it registers a fresh
// subscription id, asks the node, and waits for the stream.
func (s *Subscription) open(cn *conn) (*subStream, error) {
	sub := s.c.subIDs.Add(1)
	w, err := cn.tc.ExpectStream(sub)
	if err != nil {
		return nil, err
	}
	from := s.cur.resumeFrom()
	var resp transport.SubscribeResponse
	req := transport.SubscribeRequest{Room: s.room, From: from, Sub: sub}
	if err := cn.call(s.ctx, transport.OpSubscribe, req, &resp); err != nil {
		w.Drop()
		return nil, err
	}
	if from != 0 && resp.From != from {
		s.c.log.Warn("node starts subscription elsewhere than asked",
			"room", s.room, "asked", from, "from", resp.From, "addr", cn.addr)
	}
	s.cur.confirm(resp.From)
	return cn.awaitStream(s.ctx, w, s.room)
}

// run reads the subscription's streams, one after another across
// resumptions, until the Subscription ends.
func (s *Subscription) run(st *subStream, stopClose func() bool) {
	defer func() {
		stopClose()
		s.cancel()
		close(s.ch)
		close(s.done)
	}()
	bo := newBackoff()
	for {
		delivered := s.cur.resumeFrom()
		err := s.pump(st)
		st.cancel()
		if s.ctx.Err() != nil {
			return
		}
		if s.cur.resumeFrom() != delivered {
			bo.reset()
		}
		d, ok := retryDelay(err, &bo)
		if !ok {
			s.err = fmt.Errorf("subscription %s: %w", s.room, err)
			return
		}
		if errors.Is(err, errGap) {
			s.c.log.Error("subscription skipped a seq; resubscribing", "room", s.room, "err", err)
		} else {
			s.c.log.Info("subscription interrupted; resuming", "room", s.room,
				"from", s.cur.resumeFrom(), "err", err)
		}
		if s.c.sleep(s.ctx, d) != nil {
			return
		}
		st, err = s.connect()
		if err != nil {
			if s.ctx.Err() == nil && !errors.Is(err, ErrClosed) {
				s.err = fmt.Errorf("subscription %s: %w", s.room, err)
			}
			return
		}
	}
}

// pump delivers the messages of one stream until it ends, the cursor sees
// a gap, or the Subscription ends. A slow consumer blocks only this
// stream.
func (s *Subscription) pump(st *subStream) error {
	stop := context.AfterFunc(s.ctx, st.cancel)
	defer stop()
	for {
		// ev.Msg is the reader's storage, valid until the next read: it
		// is copied into the channel.
		ev, err := st.fr.ReadEvent()
		if err != nil {
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			return fmt.Errorf("%w: %w", errStreamEnded, err)
		}
		if ev.Error != nil {
			return ev.Error
		}
		if ev.Msg == nil {
			continue
		}
		want := s.cur.resumeFrom()
		deliver, gap := s.cur.accept(ev.Msg.Seq)
		if gap {
			return fmt.Errorf("%w: want seq %d, got %d", errGap, want, ev.Msg.Seq)
		}
		if !deliver {
			continue
		}
		select {
		case s.ch <- *ev.Msg:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
}
