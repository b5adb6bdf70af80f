package chatcore

// Raft entries are CBOR. The proposer stamps the time into the entry: the
// state machines never read the clock or random numbers, so every replica
// computes the same state from the same log.

// roomCommand is an entry of a room shard. For a join or a leave, ID is the
// id of the notice the change appends to the room. A batch carries sends
// only, in Batch, and nothing else.
type roomCommand struct {
	Op    uint8         `cbor:"1,keyasint"`
	Room  string        `cbor:"2,keyasint,omitempty"`
	User  string        `cbor:"3,keyasint,omitempty"`
	ID    [16]byte      `cbor:"4,keyasint,omitempty"`
	TS    int64         `cbor:"5,keyasint,omitempty"`
	Text  string        `cbor:"6,keyasint,omitempty"`
	Batch []roomCommand `cbor:"7,keyasint,omitempty"`
	// Seq is a read marker's new position (roomOpRead).
	Seq uint64 `cbor:"8,keyasint,omitempty"`
	// Import is a batch of a backup (roomOpImport, see import.go).
	Import *importCmd `cbor:"9,keyasint,omitempty"`
	// Fence is a fence's term (roomOpFence, see fence.go).
	Fence *fenceCmd `cbor:"10,keyasint,omitempty"`
}

const (
	roomOpSend uint8 = iota + 1
	roomOpJoin
	roomOpLeave
	// roomOpBatch is several sends committed as one entry (group commit).
	// Each is applied as if it were an entry of its own, in order.
	roomOpBatch
	// roomOpRead moves a member's read marker forward to Seq.
	roomOpRead
)

// batchItem is the outcome of one send of a batch entry; the entry's result
// Data is their CBOR array, in the batch's order.
type batchItem struct {
	Seq       uint64 `cbor:"1,keyasint"`
	TS        int64  `cbor:"2,keyasint"`
	Duplicate bool   `cbor:"3,keyasint,omitempty"`
	Reject    string `cbor:"4,keyasint,omitempty"`
}

// storedMsg is a message's value in the state db; room and seq are its key.
type storedMsg struct {
	ID   [16]byte `cbor:"1,keyasint"`
	User string   `cbor:"2,keyasint"`
	TS   int64    `cbor:"3,keyasint"`
	Text string   `cbor:"4,keyasint"`
	Kind string   `cbor:"5,keyasint,omitempty"`
}

// roomMeta is a room's header in its shard.
type roomMeta struct {
	LastSeq uint64 `cbor:"1,keyasint"`
	Created int64  `cbor:"2,keyasint"`
	Members int    `cbor:"3,keyasint,omitempty"`
}

// memberRecord is one member of a room, under the room in its shard.
type memberRecord struct {
	// Joined is the entry time of the join, Unix nanoseconds.
	Joined int64 `cbor:"1,keyasint"`
	// Read is the member's read marker: the last seq they have seen. It
	// starts at the member's own join notice and only moves forward.
	Read uint64 `cbor:"2,keyasint,omitempty"`
}
