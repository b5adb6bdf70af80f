package chatcore

// Raft entries are CBOR. The proposer stamps the time into the entry: the
// state machines never read the clock or random numbers, so every replica
// computes the same state from the same log.

// roomCommand is an entry of a room shard.
type roomCommand struct {
	Op   uint8    `cbor:"1,keyasint"`
	Room string   `cbor:"2,keyasint,omitempty"`
	User string   `cbor:"3,keyasint,omitempty"`
	ID   [16]byte `cbor:"4,keyasint,omitempty"`
	TS   int64    `cbor:"5,keyasint,omitempty"`
	Text string   `cbor:"6,keyasint,omitempty"`
}

const (
	roomOpSend uint8 = iota + 1
)

// storedMsg is a message's value in the state db; room and seq are its key.
type storedMsg struct {
	ID   [16]byte `cbor:"1,keyasint"`
	User string   `cbor:"2,keyasint"`
	TS   int64    `cbor:"3,keyasint"`
	Text string   `cbor:"4,keyasint"`
}

// roomMeta is a room's header in its shard.
type roomMeta struct {
	LastSeq uint64 `cbor:"1,keyasint"`
	Created int64  `cbor:"2,keyasint"`
}

// dedupRecord remembers where a message id was committed.
type dedupRecord struct {
	Seq uint64 `cbor:"1,keyasint"`
	TS  int64  `cbor:"2,keyasint"`
}

// Message is one committed chat message.
type Message struct {
	Room string
	Seq  uint64
	ID   [16]byte
	User string
	// TS is Unix nanoseconds, stamped by the proposing node.
	TS   int64
	Text string
}
