package chatcore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/fxamacker/cbor/v2"
	"github.com/lni/vfs"
)

// stateDB is the node's one pebble database, shared by every shard's state
// machine on the node. Keys are prefixed by shard id (see keys.go).
type stateDB struct {
	db *pebble.DB
	// formatWas is the format the db had when opened: 0 for a new db, an
	// older one if it was migrated (see statedb_format.go).
	formatWas int
}

func openStateDB(f vfs.FS, dir string, p Profile) (*stateDB, error) {
	opts := &pebble.Options{
		Cache:                       pebble.NewCache(p.stateCacheBytes),
		MemTableSize:                p.stateMemTableBytes,
		MemTableStopWritesThreshold: 4,
		MaxOpenFiles:                256,
		Logger:                      quietPebbleLogger{},
	}
	if !onDisk(f) {
		opts.FS = pebbleFS{f}
	}
	// Point lookups (members, room headers, a retried id's dedup record)
	// often miss. Bloom filters let a miss skip the tables that cannot hold
	// the key instead of searching each one's index.
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	defer opts.Cache.Unref()
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("state db: %w", err)
	}
	was, err := checkFormat(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (data dir %s)", err, dir)
	}
	return &stateDB{db: db, formatWas: was}, nil
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
