package chatcore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// Group commit. Each Raft entry carries fixed costs however small it is: a
// replicate message and an acknowledgement per follower, a place in an fsync,
// an apply call and a state-db batch on every replica. With many shards the
// concurrent sends of a node are spread thin, one or two per shard, and those
// fixed costs dominate. So a node proposes sends in batches: a proposer per
// shard takes whatever sends are waiting and commits them as one entry. A
// send waits for at most the proposals already in flight on its shard.
const (
	// proposersPerShard is how many batches of one shard a node keeps in
	// flight at once, so that batching never stalls the pipeline.
	proposersPerShard = 2
	// maxBatchCount and maxBatchBytes bound one batch entry.
	maxBatchCount = 256
	maxBatchBytes = 512 << 10
	// batchTimeout bounds the proposal of one batch, retries included.
	batchTimeout = 30 * time.Second
)

// pendingSend is a send waiting to be proposed.
type pendingSend struct {
	cmd  roomCommand
	size int
	done chan batchOutcome // buffered: the proposer never blocks on it
}

// batchOutcome is what became of one send of a batch.
type batchOutcome struct {
	item batchItem
	err  error
}

// shardProposer batches the sends of one shard.
type shardProposer struct {
	n     *Node
	shard uint64
	queue chan *pendingSend
}

// proposers holds a node's shard proposers, started on first use.
type proposers struct {
	mu sync.Mutex
	m  map[uint64]*shardProposer
}

func (n *Node) proposer(shard uint64) *shardProposer {
	n.props.mu.Lock()
	defer n.props.mu.Unlock()
	if n.props.m == nil {
		n.props.m = make(map[uint64]*shardProposer)
	}
	p := n.props.m[shard]
	if p != nil {
		return p
	}
	p = &shardProposer{n: n, shard: shard, queue: make(chan *pendingSend, maxBatchCount)}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closing {
		return p // submit sees n.stop closed
	}
	n.props.m[shard] = p
	for range proposersPerShard {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			p.run()
		}()
	}
	return p
}

// submit queues a send and waits for its outcome or the end of ctx. A send
// abandoned when ctx ends may still be committed: retrying it with the same
// message id is safe.
func (p *shardProposer) submit(ctx context.Context, cmd roomCommand) (batchItem, error) {
	ps := &pendingSend{cmd: cmd, size: len(cmd.Text) + len(cmd.Room) + len(cmd.User) + 48, done: make(chan batchOutcome, 1)}
	select {
	case p.queue <- ps:
	case <-ctx.Done():
		return batchItem{}, fmt.Errorf("%w: %w", parley.ErrUnavailable, ctx.Err())
	case <-p.n.stop:
		return batchItem{}, ErrClosed
	}
	select {
	case out := <-ps.done:
		return out.item, out.err
	case <-ctx.Done():
		return batchItem{}, fmt.Errorf("%w: %w", parley.ErrUnavailable, ctx.Err())
	case <-p.n.stop:
		return batchItem{}, ErrClosed
	}
}

func (p *shardProposer) run() {
	for {
		var first *pendingSend
		select {
		case first = <-p.queue:
		case <-p.n.stop:
			return
		}
		batch := []*pendingSend{first}
		size := first.size
	drain:
		for len(batch) < maxBatchCount && size < maxBatchBytes {
			select {
			case ps := <-p.queue:
				batch = append(batch, ps)
				size += ps.size
			default:
				break drain
			}
		}
		p.commit(batch)
	}
}

// commit proposes one batch and hands every send its outcome.
func (p *shardProposer) commit(batch []*pendingSend) {
	items, err := p.propose(batch)
	for i, ps := range batch {
		out := batchOutcome{err: err}
		if err == nil {
			out.item = ownRetry(items[i], ps.cmd)
		}
		ps.done <- out
	}
}

// ownRetry clears Duplicate on an item that only this send's own earlier
// proposal made a duplicate. A batch is proposed again when its shard's
// leader changes, and both copies may commit; the later one then finds the
// id already applied. The stored time tells the two cases apart: the
// proposer stamps the time once per Send call, so a record with this very
// time is this call's own first copy, while a sender's retry is a new call
// with a new time.
func ownRetry(item batchItem, cmd roomCommand) batchItem {
	if item.Duplicate && item.TS == cmd.TS {
		item.Duplicate = false
	}
	return item
}

func (p *shardProposer) propose(batch []*pendingSend) ([]batchItem, error) {
	cmd := roomCommand{Op: roomOpBatch, Batch: make([]roomCommand, len(batch))}
	for i, ps := range batch {
		cmd.Batch[i] = ps.cmd
	}
	data, err := encodeRoomCommand(&cmd)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	res, err := p.n.propose(ctx, p.shard, data)
	if err != nil {
		return nil, err
	}
	items, err := decodeBatchItems(res.Data)
	if err != nil || len(items) != len(batch) {
		return nil, fmt.Errorf("batch: result of %d sends undecodable (%v)", len(batch), err)
	}
	return items, nil
}
