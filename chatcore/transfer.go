package chatcore

import (
	"time"

	"github.com/parleychat/parley/placement"
)

// Leadership transfer at a quiet moment. While dragonboat transfers a
// shard's leadership, the old leader drops every proposal; the ones a
// follower forwarded are dropped without a word, so their senders wait out
// attemptTimeout unless the leader changes. A transfer whose target skips
// its campaign never changes the leader: the target does so whenever it
// has committed entries it has not applied yet (dragonboat's guard against
// unapplied membership changes), which under load is most of the time, and
// the leader then drops proposals for a whole election timeout. Measured
// before this: about half the leader balance transfers made during a
// benchmark's load were skipped by their target, each a stall of seconds.
//
// So a transfer waits until no entry was appended to the shard's log for
// quietFor: by then every follower has learned the last commit and applied
// it, and the target campaigns at once. A busy room shard has no such
// moment of its own, so its leader makes one first with a fence (see
// fence.go): every node holds its proposals to the shard until the leader
// changes.
const (
	// quietFor is a heartbeat interval: the time for the followers to learn
	// of the last commit and apply it.
	quietFor = heartbeatRTT * RTTMillisecond * time.Millisecond
	// quietPoll is how often the log's last index is looked at.
	quietPoll = RTTMillisecond / 2 * time.Millisecond
	// quietWait bounds the wait for a quiet moment.
	quietWait = 2 * time.Second
)

// transferWhenQuiet hands the leadership of shard, which this node leads,
// to node to's replica rid once the shard's log has been quiet for quietFor, waiting
// at most quietWait; then it transfers anyway if force, else gives up. It
// runs in the background, one transfer at a time per node: it returns
// false, doing nothing, when another is under way or the node is closing.
// done, if not nil, is called with whether the transfer was requested.
func (n *Node) transferWhenQuiet(shard, to, rid uint64, force bool, why string, done func(requested bool)) bool {
	n.moves.mu.Lock()
	if n.moves.transferring {
		n.moves.mu.Unlock()
		return false
	}
	n.moves.transferring = true
	n.moves.mu.Unlock()
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		n.moves.endTransfer()
		return false
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		defer n.moves.endTransfer()
		quiet := n.quietShard(shard, why)
		requested := false
		rec, found, err := n.nodeRecord(to)
		switch {
		case !n.leadsNow(shard):
		case err != nil || !found || !n.fitToLead(rec, time.Now()):
			// The target may have died while the shard was busy.
			n.log.Debug(why+": target no longer fit to lead, transfer dropped", "shard", shard, "to", to)
		case !quiet && !force:
			n.log.Debug(why+": no quiet moment, transfer put off", "shard", shard, "to", to)
			n.moves.mu.Lock()
			n.moves.putOff++
			n.moves.mu.Unlock()
		default:
			_, term, _, _ := n.nh.GetLeaderID(shard)
			n.log.Info(why+": transfer", "shard", shard, "to", to, "term", term, "quiet", quiet)
			if err := n.nh.RequestLeaderTransfer(shard, rid); err != nil {
				n.log.Debug(why, "shard", shard, "err", err.Error())
			} else {
				requested = true
				n.moves.recordRequest(transferRequest{At: time.Now(), Shard: shard, To: to, Term: term, Quiet: quiet, Reason: why})
			}
		}
		if done != nil {
			done(requested)
		}
	}()
	return true
}

// quietShard brings about a quiet moment of shard, which this node leads,
// and reports whether it came. A room shard is fenced first (see fenceSet),
// so that the nodes stop proposing to it; the registry shard is never busy
// for long and just waits.
func (n *Node) quietShard(shard uint64, why string) bool {
	if shard == placement.RegistryShard {
		return n.waitQuiet(shard, quietWait)
	}
	if err := n.fenceShard(shard); err != nil {
		n.log.Debug(why+": fence failed", "shard", shard, "err", err.Error())
		return n.waitQuiet(shard, quietWait)
	}
	// The fence holds the shard for fenceHold after it was proposed; a
	// quiet moment that comes later than that is not one the fence made.
	return n.waitQuiet(shard, fenceHold-quietPoll)
}

// waitQuiet waits until no entry was appended to shard's local log for
// quietFor, and reports whether that happened within limit (false too
// when the node closes).
func (n *Node) waitQuiet(shard uint64, limit time.Duration) bool {
	lr, err := n.nh.GetLogReader(shard)
	if err != nil {
		return false
	}
	t := time.NewTicker(quietPoll)
	defer t.Stop()
	start := time.Now()
	_, last := lr.GetRange()
	since := start
	for {
		select {
		case <-n.stop:
			return false
		case now := <-t.C:
			if _, li := lr.GetRange(); li != last {
				last, since = li, now
			}
			if now.Sub(since) >= quietFor {
				return true
			}
			if now.Sub(start) >= limit {
				return false
			}
		}
	}
}

// recordRequest keeps r among the latest transfers asked for.
func (m *moveState) recordRequest(r transferRequest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requested = append(m.requested, r)
	if len(m.requested) > maxRequested {
		m.requested = m.requested[len(m.requested)-maxRequested:]
	}
}

// endTransfer marks this node's transfer done.
func (m *moveState) endTransfer() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.transferring = false
}
