package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// Workload is what the clients do during a run: workers send to and read
// the rooms of the current epoch, and a subscriber follows every room
// from seq 1. Rooms change every epoch so that each room's history stays
// small enough for the checker.
type Workload struct {
	Cluster *Cluster
	History *History
	// Workers is the number of sending and reading clients.
	Workers int
	// RoomsPerEpoch rooms are used at a time, for Epoch each.
	RoomsPerEpoch int
	Epoch         time.Duration
	// OpTimeout bounds one operation; a send that takes longer has an
	// unknown outcome.
	OpTimeout time.Duration

	mu    sync.Mutex
	rooms []string // every room used, in order
	subs  map[string]*Feed
	feeds sync.WaitGroup // the subscriptions' goroutines
}

// Feed is what a subscription to one room received.
type Feed struct {
	mu   sync.Mutex
	msgs []parley.Message
	err  error
}

// Messages returns what the feed received so far.
func (f *Feed) Messages() []parley.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]parley.Message(nil), f.msgs...)
}

// Err returns why the feed ended, if it did.
func (f *Feed) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Rooms returns every room the run used.
func (w *Workload) Rooms() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.rooms...)
}

// Feeds returns the subscription of each room.
func (w *Workload) Feeds() map[string]*Feed {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]*Feed, len(w.subs))
	for r, f := range w.subs {
		out[r] = f
	}
	return out
}

// Run runs the workload until ctx ends. The subscriptions run on until
// subCtx ends, so that they can catch up after the faults stop.
func (w *Workload) Run(ctx, subCtx context.Context) error {
	w.subs = make(map[string]*Feed)
	sub, err := w.Cluster.Dial(ctx, "watcher", w.Cluster.Addrs()...)
	if err != nil {
		return err
	}
	context.AfterFunc(subCtx, func() { sub.Close() })
	var clients []*client.Client
	for i := range w.Workers {
		servers := w.Cluster.Addrs()
		if i%2 == 1 { // half the workers come in through the delaying proxies
			servers = nil
			for j := range w.Cluster.Nodes {
				servers = append(servers, w.Cluster.ClientProxy(j+1))
			}
		}
		cl, err := w.Cluster.Dial(ctx, fmt.Sprintf("w%d", i), servers...)
		if err != nil {
			return err
		}
		defer cl.Close()
		clients = append(clients, cl)
	}
	for epoch := 0; ctx.Err() == nil; epoch++ {
		ectx, cancel := context.WithTimeout(ctx, w.Epoch)
		rooms := w.newRooms(epoch)
		for _, r := range rooms {
			w.subscribe(subCtx, sub, r)
		}
		var ew sync.WaitGroup
		for i, cl := range clients {
			ew.Add(1)
			go func() {
				defer ew.Done()
				w.work(ectx, i, cl, rooms)
			}()
		}
		ew.Wait()
		cancel()
	}
	return nil
}

// Wait waits until every subscription has ended (after subCtx of Run).
func (w *Workload) Wait() { w.feeds.Wait() }

// newRooms names the rooms of epoch and records them.
func (w *Workload) newRooms(epoch int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rooms []string
	for k := range w.RoomsPerEpoch {
		rooms = append(rooms, fmt.Sprintf("e%d-r%d", epoch, k))
	}
	w.rooms = append(w.rooms, rooms...)
	return rooms
}

// subscribe follows room from seq 1 into a Feed until ctx ends; opening
// the subscription is retried until it succeeds.
func (w *Workload) subscribe(ctx context.Context, cl *client.Client, room string) {
	f := &Feed{}
	w.mu.Lock()
	w.subs[room] = f
	w.mu.Unlock()
	w.feeds.Add(1)
	go func() {
		defer w.feeds.Done()
		var s *client.Subscription
		err := Poll(ctx, func() error {
			var err error
			s, err = cl.Subscribe(ctx, room, 1)
			return err
		})
		if err != nil {
			f.mu.Lock()
			f.err = err
			f.mu.Unlock()
			return
		}
		for m := range s.C() {
			f.mu.Lock()
			f.msgs = append(f.msgs, m)
			f.mu.Unlock()
		}
		f.mu.Lock()
		f.err = s.Err()
		f.mu.Unlock()
	}()
}

// work is one worker: sends (three in four operations) and whole-log
// reads of random rooms, one at a time, until ctx ends.
func (w *Workload) work(ctx context.Context, id int, cl *client.Client, rooms []string) {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	for ctx.Err() == nil {
		room := rooms[rng.IntN(len(rooms))]
		octx, cancel := context.WithTimeout(context.Background(), w.OpTimeout)
		call := w.History.Now()
		if rng.IntN(4) < 3 {
			mid := parley.NewMsgID(time.Now())
			res, err := cl.SendID(octx, room, mid, fmt.Sprintf("w%d says %s", id, mid))
			w.History.RecordSend(id, room, mid, call, res.Seq, err)
		} else {
			msgs, err := cl.History(octx, room, client.HistoryOptions{From: 1, Limit: 1 << 30})
			if err == nil {
				w.History.RecordRead(id, room, call, msgs)
			}
		}
		cancel()
	}
}
