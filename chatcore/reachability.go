package chatcore

import (
	"sync"
	"time"

	"github.com/lni/dragonboat/v4/raftio"
)

// reachability is what the local Raft transport says of its peers: which
// Raft addresses it failed to reach, when it last did, and has not reached
// again since. It knows within milliseconds that a killed node is gone (its
// connections are reset, new ones refused), long before the node's
// heartbeats go stale, so leadership is never handed to it in the meantime
// (see fitToLead).
type reachability struct {
	mu     sync.Mutex
	failed map[string]time.Time
	// failC holds a token while a failure is unheard (see failures).
	failC chan struct{}
}

var _ raftio.ISystemEventListener = (*reachability)(nil)

func newReachability() *reachability {
	return &reachability{failed: make(map[string]time.Time), failC: make(chan struct{}, 1)}
}

// failures returns a channel that yields once after one or more failures
// to reach a peer, so that quiesced shards led by it can be woken (see
// wakeLoop).
func (r *reachability) failures() <-chan struct{} { return r.failC }

// failedAt returns when the transport last failed to reach addr, if it has
// not reached it since. The transport dials a peer only when it has
// messages for it, so a failure can stay on record after the peer is back;
// fitToLead weighs it against the peer's heartbeats.
func (r *reachability) failedAt(addr string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.failed[addr]
	return t, ok
}

// ConnectionFailed records that the transport could not reach an address
// (a broken stream or a refused connection). Snapshot streams do not
// count: they come and go with each snapshot.
func (r *reachability) ConnectionFailed(info raftio.ConnectionInfo) {
	if info.SnapshotConnection {
		return
	}
	r.mu.Lock()
	r.failed[info.Address] = time.Now()
	r.mu.Unlock()
	select {
	case r.failC <- struct{}{}:
	default: // one token is pending already
	}
}

// ConnectionEstablished records that the transport reached an address
// again.
func (r *reachability) ConnectionEstablished(info raftio.ConnectionInfo) {
	if info.SnapshotConnection {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failed, info.Address)
}

// The other system events do not concern reachability. Dragonboat delivers
// every event on one goroutine, so each handler returns at once.

func (*reachability) NodeHostShuttingDown()                     {}
func (*reachability) NodeUnloaded(raftio.NodeInfo)              {}
func (*reachability) NodeDeleted(raftio.NodeInfo)               {}
func (*reachability) NodeReady(raftio.NodeInfo)                 {}
func (*reachability) MembershipChanged(raftio.NodeInfo)         {}
func (*reachability) SendSnapshotStarted(raftio.SnapshotInfo)   {}
func (*reachability) SendSnapshotCompleted(raftio.SnapshotInfo) {}
func (*reachability) SendSnapshotAborted(raftio.SnapshotInfo)   {}
func (*reachability) SnapshotReceived(raftio.SnapshotInfo)      {}
func (*reachability) SnapshotRecovered(raftio.SnapshotInfo)     {}
func (*reachability) SnapshotCreated(raftio.SnapshotInfo)       {}
func (*reachability) SnapshotCompacted(raftio.SnapshotInfo)     {}
func (*reachability) LogCompacted(raftio.EntryInfo)             {}
func (*reachability) LogDBCompacted(raftio.EntryInfo)           {}
