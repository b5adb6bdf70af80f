package transport

import (
	"context"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Stream is a unidirectional stream the node opened on a Conn, after its
// header (SubscribeHeader): a subscription's events, or whatever else the
// request that asked for it said would follow.
type Stream struct {
	rs *quic.ReceiveStream
	fr *FrameReader
}

// Frames returns the reader of the stream's frames after the header.
func (s *Stream) Frames() *FrameReader { return s.fr }

// Cancel stops reading: the node sees the stream cancelled and stops
// sending. It may be called more than once, concurrently with a read.
func (s *Stream) Cancel() {
	s.rs.CancelRead(streamCancelled)
	s.rs.ReleaseStreamCredit()
}

// StreamWait is a registration for the server stream with one id, made
// before the request that makes the node open it.
type StreamWait struct {
	c  *Conn
	id uint64
	ch chan *Stream
}

// ExpectStream registers id, so that the stream whose header carries it
// finds its way to Wait whenever it arrives, even before the response of
// the request that asked for it. Every registration ends with a stream
// taken by Wait, or with Drop.
func (c *Conn) ExpectStream(id uint64) (*StreamWait, error) {
	w := &StreamWait{c: c, id: id, ch: make(chan *Stream, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, fmt.Errorf("%w: %s: %w", ErrConnLost, c.addr, c.err)
	}
	c.streams[id] = w.ch
	return w, nil
}

// Wait returns the stream once it arrives. When the connection ends first
// it returns an error wrapping ErrConnLost, when ctx ends ctx.Err(); the
// registration is then dropped.
func (w *StreamWait) Wait(ctx context.Context) (*Stream, error) {
	select {
	case st := <-w.ch:
		return st, nil
	case <-w.c.done:
		w.Drop()
		return nil, w.c.lostErr()
	case <-ctx.Done():
		w.Drop()
		return nil, ctx.Err()
	}
}

// Drop withdraws the registration, cancelling the stream if it has arrived
// meanwhile.
func (w *StreamWait) Drop() {
	c := w.c
	c.mu.Lock()
	if c.streams[w.id] == w.ch {
		delete(c.streams, w.id)
	}
	var st *Stream
	select {
	case st = <-w.ch:
	default:
	}
	c.mu.Unlock()
	if st != nil {
		st.Cancel()
	}
}

// acceptLoop takes the streams the node opens.
func (c *Conn) acceptLoop() {
	defer c.wg.Done()
	for {
		rs, err := c.qc.AcceptUniStream(context.Background())
		if err != nil {
			c.Fail(fmt.Errorf("accept stream: %w", err))
			return
		}
		c.wg.Add(1)
		go c.readHeader(rs)
	}
}

// readHeader reads a stream's header and hands the stream to the wait
// registered for it.
func (c *Conn) readHeader(rs *quic.ReceiveStream) {
	defer c.wg.Done()
	st := &Stream{rs: rs, fr: NewFrameReader(c.wrap(rs), DefaultMaxFrame)}
	rs.SetReadDeadline(time.Now().Add(c.hdrWait))
	var h SubscribeHeader
	if err := st.fr.Read(&h); err != nil {
		c.log.Debug("server stream without header", "addr", c.addr, "err", err)
		st.Cancel()
		return
	}
	rs.SetReadDeadline(time.Time{})
	c.route(h.Sub, st)
}

// route hands a stream to its wait; a stream nobody waits for is
// cancelled, which tells the node to stop sending.
func (c *Conn) route(id uint64, st *Stream) {
	c.mu.Lock()
	ch, ok := c.streams[id]
	if ok {
		delete(c.streams, id)
		ch <- st
	}
	c.mu.Unlock()
	if !ok {
		c.log.Debug("server stream nobody waits for", "id", id, "addr", c.addr)
		st.Cancel()
	}
}
