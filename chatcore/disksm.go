package chatcore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// shardApplier is the decision code of one kind of shard. It applies a batch
// of entries into b, a batch of db made by its newBatch, setting each
// entry's Result, and returns what to do once the batch is durable in the
// db (deliver messages, wake watchers). It must not read the clock or
// random numbers.
type shardApplier interface {
	// newBatch returns the batch applyEntries writes: an indexed one if
	// the applier reads its own writes through it, a plain one if it
	// keeps what it needs of them itself.
	newBatch(db *pebble.DB) *pebble.Batch
	applyEntries(db reader, b *pebble.Batch, entries []sm.Entry) (after func(), err error)
	// opened is called as the replica opens, before it applies anything,
	// to build what the applier keeps in memory from db.
	opened(db reader) error
	// recovered is called after the shard's state was replaced by a snapshot.
	recovered(db reader) error
}

// diskSM is a dragonboat IOnDiskStateMachine over the node's shared state
// db. Each shard keeps its applied index in its own key range, written in
// the same batch as the entries it applied, so the index and the state can
// never disagree.
type diskSM struct {
	shard uint64
	db    *stateDB
	app   shardApplier
}

var _ sm.IOnDiskStateMachine = (*diskSM)(nil)

// readBarrier is the query of a linearizable read: once SyncRead returns it,
// the local replica has applied everything committed before the read began,
// and the caller reads the state db directly.
type readBarrier struct{}

// Open returns the index of the last entry applied to the state db.
func (s *diskSM) Open(<-chan struct{}) (uint64, error) {
	if err := s.app.opened(s.db.db); err != nil {
		return 0, fmt.Errorf("shard %d: open: %w", s.shard, err)
	}
	return getUint64(s.db.db, appliedKey(s.shard))
}

// Update applies entries in one batch together with the new applied index.
// The batch is not fsynced: the Raft log is, and dragonboat replays entries
// past the durable applied index after a crash.
func (s *diskSM) Update(entries []sm.Entry) ([]sm.Entry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	b := s.app.newBatch(s.db.db)
	defer b.Close()
	after, err := s.app.applyEntries(s.db.db, b, entries)
	if err != nil {
		return nil, fmt.Errorf("shard %d: apply: %w", s.shard, err)
	}
	if err := putUint64(b, appliedKey(s.shard), entries[len(entries)-1].Index); err != nil {
		return nil, fmt.Errorf("shard %d: apply: %w", s.shard, err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("shard %d: commit: %w", s.shard, err)
	}
	if after != nil {
		after()
	}
	return entries, nil
}

// Lookup serves only the read barrier; reads go to the state db directly.
func (s *diskSM) Lookup(q interface{}) (interface{}, error) {
	if _, ok := q.(readBarrier); ok {
		return nil, nil
	}
	return nil, fmt.Errorf("shard %d: unknown query %T", s.shard, q)
}

// Sync makes every applied batch durable.
func (s *diskSM) Sync() error {
	if err := s.db.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("shard %d: sync: %w", s.shard, err)
	}
	return nil
}

// PrepareSnapshot pins a consistent view of the db.
func (s *diskSM) PrepareSnapshot() (interface{}, error) {
	return s.db.db.NewSnapshot(), nil
}

// snapshotMagic starts every snapshot stream, versioning its format.
//
// v2 is state db format 2's (statedb_format.go): a v1 stream holds format 1
// dedup records and is refused.
var snapshotMagic = []byte("parley-shard-v2\n")

var errSnapshotFormat = errors.New("snapshot: bad format")

// SaveSnapshot streams the shard's key range out of the pinned view: pairs of
// uvarint-prefixed key (without the shard prefix) and value, ended by a zero
// length.
func (s *diskSM) SaveSnapshot(ctx interface{}, w io.Writer, done <-chan struct{}) error {
	snap := ctx.(*pebble.Snapshot)
	defer snap.Close()
	lo, hi := shardRange(s.shard)
	it := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	defer it.Close()
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(snapshotMagic); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var lenBuf [binary.MaxVarintLen64]byte
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%1024 == 0 {
			select {
			case <-done:
				return sm.ErrSnapshotStopped
			default:
			}
		}
		k := it.Key()[len(lo):]
		for _, part := range [][]byte{k, it.Value()} {
			m := binary.PutUvarint(lenBuf[:], uint64(len(part)))
			if _, err := bw.Write(lenBuf[:m]); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			if _, err := bw.Write(part); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := bw.WriteByte(0); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// RecoverFromSnapshot replaces the shard's key range with the snapshot's.
func (s *diskSM) RecoverFromSnapshot(r io.Reader, done <-chan struct{}) error {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != string(snapshotMagic) {
		return errSnapshotFormat
	}
	lo, hi := shardRange(s.shard)
	b := s.db.db.NewBatch()
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	readPart := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if n > 64<<20 {
			return nil, errSnapshotFormat
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		return p, nil
	}
	var applied []byte
	for {
		k, err := readPart()
		if err != nil {
			return err
		}
		if len(k) == 0 {
			break
		}
		v, err := readPart()
		if err != nil {
			return err
		}
		if len(k) == 1 && k[0] == kindApplied {
			applied = v
			continue
		}
		if err := b.Set(append(shardPrefix(s.shard), k...), v, nil); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		if b.Len() > 4<<20 {
			select {
			case <-done:
				return sm.ErrSnapshotStopped
			default:
			}
			// A crash between partial batches is safe: the applied index is
			// written only in the last one, so until then Open reports 0
			// and dragonboat recovers the snapshot again.
			if err := b.Commit(pebble.NoSync); err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			b = s.db.db.NewBatch()
		}
	}
	if applied != nil {
		if err := b.Set(appliedKey(s.shard), applied, nil); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := s.app.recovered(s.db.db); err != nil {
		return fmt.Errorf("shard %d: %w", s.shard, err)
	}
	return nil
}

// Close releases nothing: the state db belongs to the node.
func (s *diskSM) Close() error { return nil }
