package main

import (
	"context"
	"sync"

	"github.com/parleychat/parley/client"
)

// subscriber is the part of the SDK the feeds use.
type subscriber interface {
	Subscribe(ctx context.Context, room string, from uint64) (*client.Subscription, error)
}

// feeds holds the REPL's subscriptions: the current room's and one per
// direct-message room. Each hands its messages to the view, which shows
// each at most once. The SDK resumes a subscription by itself across
// failovers, with no gap and no duplicate.
type feeds struct {
	c      subscriber
	v      *view
	scr    *screen
	ctx    context.Context // ends on close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	subs map[string]*feed
}

// feed is one room's subscription.
type feed struct {
	room   string
	sub    *client.Subscription
	cancel context.CancelFunc
	start  chan struct{} // closed when the feed may deliver
	once   sync.Once
}

func newFeeds(ctx context.Context, c subscriber, v *view, scr *screen) *feeds {
	ctx, cancel := context.WithCancel(ctx)
	return &feeds{c: c, v: v, scr: scr, ctx: ctx, cancel: cancel, subs: make(map[string]*feed)}
}

// has reports whether room is followed.
func (f *feeds) has(room string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs[room] != nil
}

// open subscribes to room from seq from. The feed holds its messages (the
// SDK buffers them) until begin is called, so that the caller can first
// make the room current and print what must come before. The caller must
// call begin, or the feed is stopped only by close.
func (f *feeds) open(room string, from uint64) (*feed, error) {
	ctx, cancel := context.WithCancel(f.ctx)
	sub, err := f.c.Subscribe(ctx, room, from)
	if err != nil {
		cancel()
		return nil, err
	}
	fd := &feed{room: room, sub: sub, cancel: cancel, start: make(chan struct{})}
	f.wg.Add(1)
	go f.run(ctx, fd)
	return fd, nil
}

// run hands fd's messages to the view once fd has begun.
func (f *feeds) run(ctx context.Context, fd *feed) {
	defer f.wg.Done()
	defer fd.cancel()
	select {
	case <-fd.start:
	case <-ctx.Done():
		fd.sub.Close()
		return
	}
	for m := range fd.sub.C() {
		f.v.show(m)
	}
	if err := fd.sub.Err(); err != nil {
		f.scr.error("no more messages from " + fd.room + ": " + errText(err))
		f.mu.Lock()
		if f.subs[fd.room] == fd {
			delete(f.subs, fd.room)
		}
		f.mu.Unlock()
	}
}

// begin registers fd as room's feed, replacing (and stopping) any other,
// and lets it deliver.
func (f *feeds) begin(fd *feed) {
	f.mu.Lock()
	old := f.subs[fd.room]
	f.subs[fd.room] = fd
	f.mu.Unlock()
	if old != nil && old != fd {
		old.cancel()
	}
	fd.once.Do(func() { close(fd.start) })
}

// stop stops following room.
func (f *feeds) stop(room string) {
	f.mu.Lock()
	fd := f.subs[room]
	delete(f.subs, room)
	f.mu.Unlock()
	if fd != nil {
		fd.cancel()
	}
}

// close stops every feed and waits for their goroutines.
func (f *feeds) close() {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = make(map[string]*feed)
}
