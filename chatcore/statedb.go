package chatcore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
)

// stateDB is the node's one pebble database, shared by every shard's state
// machine on the node. Keys are prefixed by shard id (see keys.go).
//
// It runs without a write-ahead log. Every write it takes is an applied Raft
// entry, already durable in dragonboat's log, so a second log would only
// double the I/O of every apply. After a crash the db holds what its last
// flushed memtable held, including each shard's applied index written in
// the same batch as its entries, and dragonboat replays the rest from the
// Raft log. That log is compacted only up to a snapshot, and dragonboat
// calls Sync (a flush, see durable) before every snapshot, so the entries
// to replay are always still there.
type stateDB struct {
	db *pebble.DB
}

func openStateDB(dir string, p Profile) (*stateDB, error) {
	opts := &pebble.Options{
		Cache:                       pebble.NewCache(p.stateCacheBytes),
		MemTableSize:                p.stateMemTableBytes,
		MemTableStopWritesThreshold: 4,
		MaxOpenFiles:                256,
		DisableWAL:                  true,
		Logger:                      quietPebbleLogger{},
	}
	defer opts.Cache.Unref()
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("state db: %w", err)
	}
	return &stateDB{db: db}, nil
}

// durable makes every write so far survive a crash: with no WAL, that is a
// flush of the memtables to sstables.
func (s *stateDB) durable() error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("state db: flush: %w", err)
	}
	return nil
}

func (s *stateDB) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state db: %w", err)
	}
	return nil
}

// reader is what the state machines read through: the db, a snapshot or an
// indexed batch.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
	NewIter(o *pebble.IterOptions) *pebble.Iterator
}

// getCBOR decodes the value at key into v; found is false if it is absent.
func getCBOR(r reader, key []byte, v any) (found bool, err error) {
	b, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state db: %w", err)
	}
	defer closer.Close()
	if err := cbor.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("state db: %x: %w", key, err)
	}
	return true, nil
}

func getUint64(r reader, key []byte) (uint64, error) {
	b, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("state db: %w", err)
	}
	defer closer.Close()
	if len(b) != 8 {
		return 0, fmt.Errorf("state db: %x: want 8 bytes, have %d", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

func putUint64(b *pebble.Batch, key []byte, v uint64) error {
	return b.Set(key, binary.BigEndian.AppendUint64(nil, v), nil)
}

func putCBOR(b *pebble.Batch, key []byte, v any) error {
	data, err := cbor.Marshal(v)
	if err != nil {
		return fmt.Errorf("state db: encode: %w", err)
	}
	return b.Set(key, data, nil)
}

// quietPebbleLogger drops pebble's informational chatter; fatal errors still
// stop the process as pebble expects.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...interface{}) {}
func (quietPebbleLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("state db: "+format, args...))
}
