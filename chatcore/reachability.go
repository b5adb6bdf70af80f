package chatcore

import (
	"sync"

	"github.com/lni/dragonboat/v4/raftio"
)

// reachability is what the local Raft transport says of its peers: which
// Raft addresses it failed to reach and has not reached again since. It
// knows within milliseconds that a killed node is gone (its connections are
// reset, new ones refused), long before the node's heartbeats go stale, so
// leadership is never handed to it in the meantime (see fitToLead).
type reachability struct {
	mu     sync.Mutex
	failed map[string]bool
}

var _ raftio.ISystemEventListener = (*reachability)(nil)

func newReachability() *reachability { return &reachability{failed: make(map[string]bool)} }

// reachable reports whether the transport has not failed to reach addr
// since it last reached it. An address never tried counts as reachable.
func (r *reachability) reachable(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.failed[addr]
}

// ConnectionFailed records that the transport could not reach an address
// (a broken stream or a refused connection). Snapshot streams do not
// count: they come and go with each snapshot.
func (r *reachability) ConnectionFailed(info raftio.ConnectionInfo) {
	if info.SnapshotConnection {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[info.Address] = true
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
