package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// sendTimeout bounds one send of a load generator. The SDK retries a send
// across failovers until its context ends.
const sendTimeout = 30 * time.Second

// sendFunc sends one message from worker w into room r (an index).
type sendFunc func(ctx context.Context, w, r int) error

// closedLoop is the outcome of runClosedLoop, counted over the measuring
// window only.
type closedLoop struct {
	acked   int64
	errors  int64
	seconds float64
	lat     *Histogram
	// cpu is the CPU use of the measured processes over the window, and
	// host how the whole machine's went.
	cpu  CPU
	host *HostCPU
}

// msgPerSec returns the acknowledged sends per second.
func (c closedLoop) msgPerSec() float64 {
	if c.seconds <= 0 {
		return 0
	}
	return float64(c.acked) / c.seconds
}

// runClosedLoop runs workers goroutines that each send, wait for the ack
// and send again, worker w into rooms w, w+1, ... in turn, for warmup plus
// dur. Only sends acknowledged within the measuring window (after warmup)
// count and have their ack latency recorded. The CPU use of the processes
// in pids (and of this one) is measured over the same window.
func runClosedLoop(ctx context.Context, workers, rooms int, warmup, dur time.Duration, pids map[string]int, send sendFunc) closedLoop {
	begin := time.Now()
	from, to := begin.Add(warmup), begin.Add(warmup+dur)
	res := closedLoop{lat: NewHistogram()}
	type usage struct {
		cpu  CPU
		host *HostCPU
	}
	cpuDone := make(chan usage, 1)
	window := time.AfterFunc(warmup, func() {
		m := newCPUMeter(pids)
		time.AfterFunc(dur, func() { cpuDone <- usage{m.stop(), m.host()} })
	})
	defer window.Stop()
	var acked, errs atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				if t0.After(to) {
					return
				}
				sctx, cancel := context.WithTimeout(ctx, sendTimeout)
				err := send(sctx, w, (w+i)%rooms)
				cancel()
				t1 := time.Now()
				if t1.Before(from) || t1.After(to) {
					continue
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				acked.Add(1)
				res.lat.Record(t1.Sub(t0))
			}
		})
	}
	wg.Wait()
	select {
	case u := <-cpuDone:
		res.cpu, res.host = u.cpu, u.host
	case <-ctx.Done():
	}
	res.acked, res.errors = acked.Load(), errs.Load()
	res.seconds = dur.Seconds()
	return res
}
