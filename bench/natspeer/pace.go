package main

import (
	"context"
	"sync"
	"time"
)

// pacedJob is one send of an open-loop load: the n-th, into room index
// room, due at sched.
type pacedJob struct {
	n     int
	room  int
	sched time.Time
}

// pacedQueue is how many seconds of load may wait for a free worker
// before the pacer drops jobs (as parley-bench's pacer).
const pacedQueue = 30

// pace offers rate sends per second for dur, whatever the servers' speed:
// it hands jobs due at their scheduled times to workers goroutines, which
// call send, and returns how many jobs it dropped because the queue was
// full. It paces exactly as parley-bench's latency scenario does for
// Parley, so that both systems get the same load: latencies measured from
// pacedJob.sched include any wait for a worker. It is a copy of
// bench.runPaced because this module must not depend on Parley's (its
// requirements would change the versions NATS is built with).
func pace(ctx context.Context, rate float64, workers, rooms int, dur time.Duration, send func(ctx context.Context, w int, j pacedJob)) (dropped int64) {
	jobs := make(chan pacedJob, int(rate*pacedQueue)+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range jobs {
				send(ctx, w, j)
			}
		})
	}
	tick := max(time.Millisecond, min(10*time.Millisecond, time.Duration(float64(time.Second)/rate)))
	t := time.NewTicker(tick)
	begin := time.Now()
	end := begin.Add(dur)
	n := 0
loop:
	for {
		now := time.Now()
		if now.After(end) {
			now = end
		}
		due := int(now.Sub(begin).Seconds() * rate)
		for ; n < due; n++ {
			j := pacedJob{n: n, room: n % rooms, sched: begin.Add(time.Duration(float64(n) / rate * float64(time.Second)))}
			select {
			case jobs <- j:
			default:
				dropped++
			}
		}
		if now.Equal(end) {
			break
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			break loop
		}
	}
	t.Stop()
	close(jobs)
	wg.Wait()
	return dropped
}
