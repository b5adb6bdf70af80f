package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/transport"
)

// The probe tells a dead node from an idle one within a fraction of a
// second. A node killed with kill -9, or cut off by the network, closes
// nothing: without the probe only QUIC's idle timeout (seconds) would
// notice. Any data that arrives on the connection, on the control stream
// or on a subscription stream, proves the node alive; a connection that
// has heard nothing for a probe interval pings, and one that has heard
// nothing, not even the ping's answer, for the probe timeout is given up,
// and the Client reconnects to another node.

const (
	// DefaultProbeInterval is the default of Options.ProbeInterval.
	DefaultProbeInterval = 125 * time.Millisecond
	// DefaultProbeMisses is the default of Options.ProbeTimeout in probe
	// intervals: the node is given up after this many intervals of
	// silence, that is after leaving a ping unanswered for all but one.
	DefaultProbeMisses = 3
)

// errNodeSilent ends a connection on which nothing arrived for the probe
// timeout.
var errNodeSilent = errors.New("node stopped answering")

// probeTimes resolves Options.ProbeInterval and ProbeTimeout. every is 0
// when the probe is off.
func probeTimes(opts Options) (every, timeout time.Duration, err error) {
	every, timeout = opts.ProbeInterval, opts.ProbeTimeout
	switch {
	case every < 0:
		return 0, 0, nil
	case every == 0:
		every = DefaultProbeInterval
	}
	if timeout == 0 {
		timeout = DefaultProbeMisses * every
	}
	if timeout <= every {
		return 0, 0, fmt.Errorf("probe timeout %v must exceed the probe interval %v", timeout, every)
	}
	return every, timeout, nil
}

// liveness records when a connection last heard from its node.
type liveness struct {
	start time.Time
	heard atomic.Int64 // time.Since(start) when data last arrived
}

func newLiveness() *liveness {
	return &liveness{start: time.Now()}
}

// mark records that data arrived now.
func (l *liveness) mark() {
	l.heard.Store(int64(time.Since(l.start)))
}

// silence returns how long nothing has arrived.
func (l *liveness) silence() time.Duration {
	return time.Since(l.start) - time.Duration(l.heard.Load())
}

// reader returns r marking l at every read that returns data. Bytes count,
// not whole frames: a large response arriving slowly keeps the connection
// alive all along.
func (l *liveness) reader(r io.Reader) io.Reader {
	return &heardReader{r: r, l: l}
}

// heardReader is the reader of liveness.reader.
type heardReader struct {
	r io.Reader
	l *liveness
}

// Read reads from the stream and marks the liveness if data came.
func (h *heardReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.l.mark()
	}
	return n, err
}

// probe watches the connection until it dies: once the connection has
// heard nothing for every, it pings the node; once it has heard nothing
// for timeout, it fails the connection. At most one ping is in flight; its
// answer, like any data, ends the silence.
func (cn *conn) probe(every, timeout time.Duration) {
	defer cn.c.wg.Done()
	var pinging atomic.Bool
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		silent := cn.lv.silence()
		if silent >= timeout {
			cn.fail(fmt.Errorf("%w: nothing heard for %v", errNodeSilent, silent.Round(time.Millisecond)))
			return
		}
		next := every - silent
		if next <= 0 {
			if pinging.CompareAndSwap(false, true) {
				cn.c.wg.Add(1)
				go func() {
					defer cn.c.wg.Done()
					defer pinging.Store(false)
					cn.ping()
				}()
			}
			next = min(every, timeout-silent)
		}
		t.Reset(next)
	}
}

// ping asks the node whether it is there. The answer matters only by
// arriving; the call returns when it does or when the connection dies.
func (cn *conn) ping() {
	cn.pings.Add(1)
	err := cn.call(context.Background(), transport.OpPing, transport.PingRequest{}, nil)
	switch {
	case err == nil:
		cn.pongs.Add(1)
	case errors.Is(err, errConnLost):
	default:
		// Answered all the same, so alive: say an older node that does
		// not know the op.
		cn.c.log.Debug("ping refused", "addr", cn.addr, "err", err)
	}
}
