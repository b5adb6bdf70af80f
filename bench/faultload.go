package bench

import (
	"context"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// faultLoad is an open-loop load of recorded sends during which one node
// is killed -9: the load of the failover and reconnect scenarios.
type faultLoad struct {
	// rate is the offered load in sends per second, over workers
	// goroutines and rooms rooms (job.room is below rooms).
	rate           float64
	workers, rooms int
	// before is how long the load runs before the kill, after how long
	// it goes on after.
	before, after time.Duration
	// pause, if not zero, stops the load for that long before the kill,
	// so that idle shards quiesce, and the load resumes at the kill.
	pause time.Duration
	// payload is the message size in bytes.
	payload int
	// route returns, for worker w's job j, the room to send into and the
	// client that sends, with its index for the ledger.
	route func(w int, j job) (room string, idx int, cl *client.Client)
}

// faultRun is what a faultLoad did.
type faultRun struct {
	// recs are the records of every send, in scheduled order.
	recs  []sendRecord
	paced paced
	// killAt is when the victim was killed; zero if ctx ended first.
	killAt time.Time
}

// run offers the load, kills victim once before has passed, and returns
// when the load has ended. Its error is the kill's.
func (l faultLoad) run(ctx context.Context, c *Cluster, victim *Node) (faultRun, error) {
	var led ledger
	text := payload(l.payload)
	send := func(ctx context.Context, w int, j job) {
		room, idx, cl := l.route(w, j)
		rec := sendRecord{room: room, client: idx, id: parley.NewMsgID(time.Now()), sched: j.sched}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		r, err := cl.SendID(sctx, rec.room, rec.id, text)
		cancel()
		if err != nil {
			rec.err = err
		} else {
			rec.ack, rec.seq = time.Now(), r.Seq
		}
		led.add(rec)
	}
	if l.pause > 0 {
		return l.runPaused(ctx, c, victim, &led, send)
	}
	done := make(chan paced, 1)
	go func() {
		done <- runPaced(ctx, l.rate, l.workers, l.rooms, l.before+l.after, send)
	}()
	killTimer := time.NewTimer(l.before) // when to inject the fault
	defer killTimer.Stop()
	var run faultRun
	var killErr error
	select {
	case <-killTimer.C:
		run.killAt = time.Now()
		killErr = c.Kill(victim)
	case <-ctx.Done():
	}
	run.paced = <-done
	run.recs = led.records()
	return run, killErr
}

// runPaused offers the load for before, stops it for pause, then kills
// victim and offers the load again for after.
func (l faultLoad) runPaused(ctx context.Context, c *Cluster, victim *Node, led *ledger, send func(context.Context, int, job)) (faultRun, error) {
	var run faultRun
	first := runPaced(ctx, l.rate, l.workers, l.rooms, l.before, send)
	pause := time.NewTimer(l.pause)
	defer pause.Stop()
	select {
	case <-pause.C:
	case <-ctx.Done():
		run.paced, run.recs = first, led.records()
		return run, nil
	}
	run.killAt = time.Now()
	killErr := c.Kill(victim)
	second := runPaced(ctx, l.rate, l.workers, l.rooms, l.after, send)
	run.paced = paced{issued: first.issued + second.issued, dropped: first.dropped + second.dropped}
	run.recs = led.records()
	return run, killErr
}
