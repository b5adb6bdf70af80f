package main

import (
	"encoding/binary"
	"io"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// counter is the trivial in-memory state machine: it counts the entries
// it applied. Its result is the new count, like a room's next seq.
type counter struct{ n uint64 }

func newCounter(shard, replica uint64) sm.IStateMachine { return &counter{} }

// Update applies one entry.
func (c *counter) Update(e sm.Entry) (sm.Result, error) {
	c.n++
	return sm.Result{Value: c.n}, nil
}

// Lookup returns the count.
func (c *counter) Lookup(any) (any, error) { return c.n, nil }

// SaveSnapshot writes the count.
func (c *counter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], c.n)
	_, err := w.Write(b[:])
	return err
}

// RecoverFromSnapshot reads the count.
func (c *counter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	c.n = binary.BigEndian.Uint64(b[:])
	return nil
}

// Close does nothing.
func (c *counter) Close() error { return nil }
