package daemon

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// subscriptionBatch is how many messages one pull takes from the hub.
const subscriptionBatch = 256

// subscribe registers with the hub at once, so the reply's From is exact,
// and then pumps messages onto a server-opened stream of their own.
func (ss *session) subscribe(r transport.SubscribeRequest) (transport.SubscribeResponse, error) {
	sub, err := ss.srv.node.Subscribe(r.Room, ss.user, r.From)
	if err != nil {
		return transport.SubscribeResponse{}, err
	}
	// Read From before the pump starts: the pump moves it as it delivers,
	// and a reply naming a later seq makes the client drop what came first.
	from := sub.From()
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer sub.Close()
		ss.pump(r.Sub, sub)
	}()
	return transport.SubscribeResponse{From: from}, nil
}

// pump writes the subscription's messages until the client cancels the
// stream, the connection ends or the node stops. A slow reader slows only
// its own stream: the hub never waits for it.
func (ss *session) pump(id uint64, sub *chatcore.Subscription) {
	ctx := ss.conn.Context()
	stream, err := ss.conn.OpenUniStreamSync(ctx)
	if err != nil {
		return
	}
	defer stream.Close()
	if err := transport.WriteFrame(stream, transport.SubscribeHeader{Sub: id}, transport.DefaultMaxFrame); err != nil {
		return
	}
	// A cancelled stream shows up as a write error; watching its context
	// also ends a subscription that is idle when the client goes away.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-stream.Context().Done()
		cancel()
	}()
	var buf []byte
	for {
		msgs, err := sub.Next(ctx, subscriptionBatch)
		if err != nil {
			if errors.Is(err, chatcore.ErrClosed) {
				ev := transport.Event{Error: &transport.Error{Code: transport.CodeUnavailable, Message: "node stopping", RetryMillis: retryHint}}
				transport.WriteFrame(stream, ev, transport.DefaultMaxFrame)
			}
			return
		}
		stream.SetWriteDeadline(time.Now().Add(requestTimeout))
		if buf, err = writeEvents(stream, buf[:0], msgs); err != nil {
			return
		}
	}
}

// eventWriteBytes is how many bytes of frames pump gathers before a write.
const eventWriteBytes = 32 << 10

// writeEvents writes msgs as event frames, gathered into few writes: the
// stream then sends full packets instead of one per message, which is most
// of what a subscriber costs the node when messages come fast. It returns
// buf for reuse.
func writeEvents(w io.Writer, buf []byte, msgs []parley.Message) ([]byte, error) {
	for i := range msgs {
		var err error
		if buf, err = transport.AppendFrame(buf, transport.Event{Msg: &msgs[i]}, transport.DefaultMaxFrame); err != nil {
			return buf, err
		}
		if len(buf) >= eventWriteBytes || i == len(msgs)-1 {
			if _, err := w.Write(buf); err != nil {
				return buf, err
			}
			buf = buf[:0]
		}
	}
	return buf, nil
}
