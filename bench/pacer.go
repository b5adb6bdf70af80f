package bench

import (
	"context"
	"sync"
	"time"
)

// job is one send of an open-loop load: the n-th, into room index room,
// due at sched.
type job struct {
	n     int
	room  int
	sched time.Time
}

// paced is the outcome of runPaced.
type paced struct {
	// issued counts the jobs handed to workers; dropped those that found
	// every worker busy and the queue full.
	issued, dropped int
}

// pacedQueue is how many seconds of load may wait for a free worker
// before the pacer drops jobs.
const pacedQueue = 30

// runPaced offers rate sends per second for dur, whatever the cluster's
// speed (an open loop): a pacer hands jobs due at their scheduled times to
// workers goroutines, which call send. Latencies measured from job.sched
// include any wait for a worker, so a stall is not hidden.
func runPaced(ctx context.Context, rate float64, workers, rooms int, dur time.Duration, send func(ctx context.Context, w int, j job)) paced {
	jobs := make(chan job, int(rate*pacedQueue)+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range jobs {
				send(ctx, w, j)
			}
		})
	}
	var res paced
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
			j := job{n: n, room: n % rooms, sched: begin.Add(time.Duration(float64(n) / rate * float64(time.Second)))}
			select {
			case jobs <- j:
				res.issued++
			default:
				res.dropped++
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
	return res
}
