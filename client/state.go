package client

import (
	"strconv"
	"sync"
)

// State is a connection-state change reported to Options.OnState.
type State int

// The connection states, in the order a Client goes through them.
const (
	// Connected: Dial completed the handshake with a node.
	Connected State = iota + 1
	// Reconnecting: the connection was lost; the Client is looking for a
	// node. Operations wait (within their contexts) until it finds one.
	Reconnecting
	// Reconnected: the Client is connected again, possibly to another
	// node; sends in flight are retried and subscriptions resume.
	Reconnected
	// Closed: Close was called. It is the last state reported.
	Closed
)

// String returns the state's lowercase name.
func (s State) String() string {
	switch s {
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Reconnected:
		return "reconnected"
	case Closed:
		return "closed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// notifier calls an OnState callback from one goroutine, in order, without
// ever making the Client wait for the callback. The goroutine ends after it
// has reported Closed; Close does not wait for it, so a callback may call
// Close without deadlocking.
type notifier struct {
	fn   func(State)
	wake chan struct{}

	mu    sync.Mutex
	queue []State
}

// newNotifier starts the goroutine calling fn, if fn is not nil.
func newNotifier(fn func(State)) *notifier {
	n := &notifier{fn: fn, wake: make(chan struct{}, 1)}
	if fn != nil {
		go n.loop()
	}
	return n
}

// emit queues s for the callback.
func (n *notifier) emit(s State) {
	if n.fn == nil {
		return
	}
	n.mu.Lock()
	n.queue = append(n.queue, s)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) loop() {
	for range n.wake {
		n.mu.Lock()
		q := n.queue
		n.queue = nil
		n.mu.Unlock()
		for _, s := range q {
			n.fn(s)
			if s == Closed {
				return
			}
		}
	}
}
