package daemon

import (
	"context"
	"errors"
	"io"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// subscriptionBatch is how many messages one pull takes from the hub.
const subscriptionBatch = 256

// feed is what pump reads: a local subscription (chatcore.Subscription)
// or one through the room's relay (relaySub).
type feed interface {
	Next(ctx context.Context, max int) ([]parley.Message, error)
	From() uint64
	Close()
}

// subscribe registers with the hub (or the room's relay, when this node
// hosts no replica of the room) at once, so the reply's From is exact, and
// then pumps messages onto a server-opened stream of their own.
func (ss *session) subscribe(ctx context.Context, user string, r transport.SubscribeRequest) (transport.SubscribeResponse, error) {
	var sub feed
	local, hosts, err := ss.srv.node.RoomHosts(r.Room)
	if err == nil && !local && len(hosts) > 0 && !isForwarded(ctx) {
		sub, err = ss.srv.subscribeRelay(ctx, r.Room, user, r.From)
	} else {
		sub, err = ss.srv.node.Subscribe(r.Room, user, r.From)
	}
	if err != nil {
		return transport.SubscribeResponse{}, err
	}
	// Read From before the pump starts: the pump moves it as it delivers,
	// and a reply naming a later seq makes the client drop what came first.
	from := sub.From()
	frames := ss.srv.frames.acquire(r.Room)
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		defer ss.srv.frames.release(r.Room)
		defer sub.Close()
		ss.pump(r.Sub, sub, frames)
	}()
	return transport.SubscribeResponse{From: from}, nil
}

// pump writes the subscription's messages until the client cancels it, the
// connection ends or the node stops. A slow reader slows only its own
// carrier: the hub never waits for it.
func (ss *session) pump(id uint64, sub feed, frames *roomFrames) {
	ctx := ss.c.context()
	sink, err := ss.c.openSub(ctx, id)
	if err != nil {
		return
	}
	defer sink.close()
	// A cancelled subscription shows up as a write error; watching it also
	// ends a subscription that is idle when the client goes away.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sink.done():
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		msgs, err := sub.Next(ctx, subscriptionBatch)
		if err != nil {
			if errors.Is(err, chatcore.ErrClosed) || errors.Is(err, chatcore.ErrNotHosted) {
				sink.fail(&transport.Error{Code: transport.CodeUnavailable, Message: err.Error(), RetryMillis: retryHint})
			}
			return
		}
		if err := sink.messages(msgs, frames); err != nil {
			return
		}
	}
}

// eventWriteBytes is how many bytes of frames pump gathers before a write.
const eventWriteBytes = 32 << 10

// writeEvents writes msgs as event frames, gathered into few writes: the
// stream then sends full packets instead of one per message, which is most
// of what a subscriber costs the node when messages come fast. Each frame
// comes from the room's shared frames (encoded once for all its
// subscribers; nil encodes each). It returns buf for reuse.
func writeEvents(w io.Writer, buf []byte, msgs []parley.Message, frames *roomFrames) ([]byte, error) {
	for len(msgs) > 0 {
		var n int
		var err error
		if buf, n, err = frames.appendFrames(buf, msgs, eventWriteBytes); err != nil {
			return buf, err
		}
		msgs = msgs[n:]
		if _, err := w.Write(buf); err != nil {
			return buf, err
		}
		buf = buf[:0]
	}
	return buf, nil
}
