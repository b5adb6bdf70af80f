package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// A relay is this node's one upstream subscription to a room it does not
// host, on a node that does, fanned out to every local subscriber of the
// room. When the upstream node goes away the relay resubscribes on another
// host from the next seq it expects, so its subscribers see no gap and no
// duplicate. It keeps the latest relayWindow messages; a subscriber further
// behind (or starting from an older seq) catches up by forwarded history.
const relayWindow = 4096

// relays holds the node's relays by room.
type relays struct {
	srv   *Server
	ids   atomic.Uint64 // subscription ids of upstream subscriptions
	mu    sync.Mutex
	rooms map[string]*relay
}

type relay struct {
	rs   *relays
	room string
	user string // whose access the upstream subscription is opened with

	mu     sync.Mutex
	refs   int
	base   uint64 // seq of msgs[0]
	msgs   []parley.Message
	next   uint64        // next seq expected from upstream, 0 until known
	wake   chan struct{} // closed when msgs grow or next becomes known
	cancel context.CancelFunc
}

func newRelays(s *Server) *relays { return &relays{srv: s, rooms: make(map[string]*relay)} }

// attach returns room's relay, starting it if needed; user's access to
// room has been checked (the upstream node checks it for the first user,
// see relaySub).
func (rs *relays) attach(room, user string) *relay {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.rooms[room]
	if r == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r = &relay{rs: rs, room: room, user: user, wake: make(chan struct{}), cancel: cancel}
		rs.rooms[room] = r
		go r.run(ctx)
	}
	r.mu.Lock()
	r.refs++
	r.mu.Unlock()
	return r
}

// detach drops one reference; the last stops the relay.
func (rs *relays) detach(r *relay) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last {
		r.cancel()
		delete(rs.rooms, r.room)
	}
}

// closeAll stops every relay.
func (rs *relays) closeAll() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for room, r := range rs.rooms {
		r.cancel()
		delete(rs.rooms, room)
	}
}

// run keeps one upstream subscription open, on the room's hosts in turn,
// until ctx ends.
func (r *relay) run(ctx context.Context) {
	for ctx.Err() == nil {
		_, hosts, err := r.rs.srv.node.RoomHosts(r.room)
		if err == nil {
			for _, h := range hosts {
				if err := r.follow(ctx, h.ID, h.ClientAddr); err != nil && ctx.Err() == nil {
					r.rs.srv.log.Debug("relay: upstream ended", "room", r.room, "node", h.ID, "err", err)
				}
				if ctx.Err() != nil {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(forwardRetry):
		}
	}
}

// follow subscribes on one host from the next expected seq and takes its
// messages until the stream ends.
func (r *relay) follow(ctx context.Context, node uint64, addr string) error {
	pc, err := r.rs.srv.peers.conn(node)
	if err != nil {
		return err
	}
	tc, err := pc.get(ctx, addr)
	if err != nil {
		return err
	}
	id := r.rs.ids.Add(1)
	w, err := tc.ExpectStream(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	from := r.next
	r.mu.Unlock()
	body, err := parley.Marshal(transport.SubscribeRequest{Room: r.room, From: from, Sub: id})
	if err != nil {
		w.Drop()
		return err
	}
	var resp transport.SubscribeResponse
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	err = tc.Call(cctx, transport.OpForward, transport.ForwardedRequest{User: r.user, Op: transport.OpSubscribe, Body: body}, &resp)
	cancel()
	if err != nil {
		w.Drop()
		var te *transport.Error
		if !errors.As(err, &te) {
			pc.drop(tc)
		}
		return err
	}
	if from != 0 && resp.From != from {
		w.Drop()
		return fmt.Errorf("relay: %s: upstream starts at %d, want %d", r.room, resp.From, from)
	}
	st, err := w.Wait(ctx)
	if err != nil {
		return err
	}
	defer st.Cancel()
	// A node killed outright says nothing; its heartbeats stop. Give it up
	// then rather than wait out the connection's idle timeout.
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-watch.Done():
				return
			case <-t.C:
				if !r.rs.srv.node.NodeUp(node) {
					st.Cancel()
					return
				}
			}
		}
	}()
	r.mu.Lock()
	if r.next == 0 {
		r.next, r.base = resp.From, resp.From
		r.signal()
	}
	r.mu.Unlock()
	fr := st.Frames()
	for {
		ev, err := fr.ReadEvent()
		if err != nil {
			return err
		}
		if ev.Error != nil {
			return ev.Error
		}
		if ev.Msg != nil {
			r.add(*ev.Msg)
		}
	}
}

// add appends the next message, ignoring one already seen.
func (r *relay) add(m parley.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.Seq != r.next {
		return
	}
	r.msgs = append(r.msgs, m)
	r.next++
	if len(r.msgs) > relayWindow {
		drop := len(r.msgs) - relayWindow
		r.msgs = append(r.msgs[:0:0], r.msgs[drop:]...)
		r.base += uint64(drop)
	}
	r.signal()
}

// signal wakes every waiting subscriber; r.mu is held.
func (r *relay) signal() {
	close(r.wake)
	r.wake = make(chan struct{})
}

// relaySub is one local subscriber of a relayed room: every message once,
// in order, from its seq on.
type relaySub struct {
	r    *relay
	srv  *Server
	user string
	next uint64
	once sync.Once
}

// subscribeRelay follows room for user through the room's relay, from seq
// from (0: from now).
func (s *Server) subscribeRelay(ctx context.Context, room, user string, from uint64) (*relaySub, error) {
	// The access check of a forwarded history read: forbidden users learn
	// here, before any stream opens.
	var probe transport.HistoryResponse
	if err := forward(ctx, s, room, user, transport.OpHistory, transport.HistoryRequest{Room: room, Last: 1}, &probe); err != nil {
		return nil, err
	}
	r := s.relays.attach(room, user)
	sub := &relaySub{r: r, srv: s, user: user, next: from}
	if from == 0 {
		for {
			r.mu.Lock()
			next, wake := r.next, r.wake
			r.mu.Unlock()
			if next != 0 {
				sub.next = next
				break
			}
			select {
			case <-wake:
			case <-ctx.Done():
				sub.Close()
				return nil, fmt.Errorf("subscribe %s: %w: %w", room, parley.ErrUnavailable, ctx.Err())
			}
		}
	}
	return sub, nil
}

// From returns the seq of the next message the subscription delivers.
func (s *relaySub) From() uint64 { return s.next }

// Next returns the next messages, up to max, waiting for one if needed.
func (s *relaySub) Next(ctx context.Context, max int) ([]parley.Message, error) {
	for {
		r := s.r
		r.mu.Lock()
		base, next, wake := r.base, r.next, r.wake
		var out []parley.Message
		if next != 0 && s.next >= base && s.next < next {
			i := int(s.next - base)
			out = append(out, r.msgs[i:min(len(r.msgs), i+max)]...)
		}
		r.mu.Unlock()
		if len(out) > 0 {
			s.next = out[len(out)-1].Seq + 1
			return out, nil
		}
		if next != 0 && s.next < base {
			// Behind the window: catch up from history.
			var h transport.HistoryResponse
			q := transport.HistoryRequest{Room: r.room, From: s.next, Limit: min(max, int(base-s.next))}
			if err := forward(ctx, s.srv, r.room, s.user, transport.OpHistory, q, &h); err != nil {
				return nil, err
			}
			if len(h.Messages) > 0 && h.Messages[0].Seq == s.next {
				s.next = h.Messages[len(h.Messages)-1].Seq + 1
				return h.Messages, nil
			}
			return nil, fmt.Errorf("subscribe %s: history from %d is missing: %w", r.room, s.next, parley.ErrUnavailable)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends the subscription.
func (s *relaySub) Close() { s.once.Do(func() { s.srv.relays.detach(s.r) }) }
