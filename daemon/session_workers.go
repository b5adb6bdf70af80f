package daemon

import (
	"context"
	"time"

	"github.com/parleychat/parley/transport"
)

// workerIdle is how long a session's request worker waits for another
// request before it ends.
const workerIdle = 10 * time.Second

// A session runs its requests on workers that outlive one request. A
// goroutine started for each request begins with the smallest stack and,
// in nearly every request, grows it by copying when the CBOR decoder's
// deep frames run: 2% of a node's CPU under the throughput load. A worker
// keeps its grown stack for the next request. Workers start on demand, so
// a session has as many as it has requests in flight (at most
// maxInFlight), and end after workerIdle without one or with the session.

// dispatchRequest hands req to an idle worker, or starts one. The caller
// holds one of ss.slots for req; the worker gives it back when req is done.
func (ss *session) dispatchRequest(ctx context.Context, req transport.Request) {
	select {
	case ss.work <- req:
		return
	default:
	}
	ss.wg.Add(1)
	go ss.worker(ctx, req)
}

// worker handles req, then the requests dispatchRequest gives it, until it
// has waited workerIdle for one or the session ends.
func (ss *session) worker(ctx context.Context, req transport.Request) {
	defer ss.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		ss.handle(ctx, req)
		<-ss.slots
		idle.Reset(workerIdle)
		select {
		case req = <-ss.work:
		case <-idle.C:
			return
		case <-ss.quit:
			return
		}
	}
}
