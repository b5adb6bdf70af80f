package transport

import "github.com/parleychat/parley"

// Backup operations. Only an admin may use them; anyone else gets
// CodeForbidden. The file format of a backup is package backup's; these
// are the protocol's messages that carry it.
const (
	// OpExport streams rooms (ExportRequest, ExportResponse). The node
	// then opens a unidirectional stream that starts with
	// SubscribeHeader{Sub} and carries ExportEvent frames: for each room,
	// its header, its members, then its messages from seq 1, and a last
	// event with Done (or Error). It needs the QUIC protocol.
	OpExport = "export"
	// OpBackupRead reads one page of a room for a backup, whoever may
	// read it (BackupReadRequest, BackupReadResponse). A node that does
	// not host the room forwards it.
	OpBackupRead = "backup.read"
	// OpImport writes one batch of a backup into its room
	// (ImportRequest, ImportResponse). A node that does not host the room
	// forwards it.
	OpImport = "import"
)

// MaxImportBatch is the most messages, and the most members, one
// ImportRequest carries.
const MaxImportBatch = 1000

// ExportRequest asks for Rooms (every room of the cluster, direct-message
// rooms included, if empty) on the stream with id Sub, in name order. An
// export that lost its connection resumes with After, Until and Cont.
type ExportRequest struct {
	Rooms []string `cbor:"1,keyasint"`
	Sub   uint64   `cbor:"2,keyasint"`
	// After skips the rooms named up to and including it.
	After string `cbor:"3,keyasint,omitempty"`
	// Until, when not zero, skips the rooms of the directory created after
	// it (Unix nanoseconds): those a resumed export did not count at first.
	Until int64 `cbor:"4,keyasint,omitempty"`
	// Cont, if set, first continues a room whose header and members were
	// sent: its messages from seq From to seq To.
	Cont *ExportCont `cbor:"5,keyasint,omitempty"`
}

// ExportCont is the rest of one room's messages.
type ExportCont struct {
	Room string `cbor:"1,keyasint"`
	From uint64 `cbor:"2,keyasint"`
	To   uint64 `cbor:"3,keyasint"`
}

// ExportResponse confirms an export before its stream starts.
type ExportResponse struct {
	ClusterID string `cbor:"1,keyasint"`
	// ExportedAt is when the export began, Unix nanoseconds.
	ExportedAt int64 `cbor:"2,keyasint"`
	// Rooms counts the rooms the stream will carry (besides Cont's).
	Rooms int `cbor:"3,keyasint"`
}

// ExportEvent is one frame of an export stream; one of its fields is set.
type ExportEvent struct {
	// Room starts a room: its members and messages follow.
	Room     *BackupRoom      `cbor:"1,keyasint,omitempty"`
	Members  []BackupMember   `cbor:"2,keyasint"`
	Messages []parley.Message `cbor:"3,keyasint"`
	// Done ends an export that is complete.
	Done bool `cbor:"4,keyasint,omitempty"`
	// Error ends an export that failed.
	Error *Error `cbor:"5,keyasint,omitempty"`
}

// BackupRoom is a room of an export: its directory entry, its last seq
// and how many members it had at that seq.
type BackupRoom struct {
	Name    string `cbor:"1,keyasint"`
	Creator string `cbor:"2,keyasint,omitempty"`
	// Created is the room's creation time, Unix nanoseconds.
	Created int64  `cbor:"3,keyasint,omitempty"`
	LastSeq uint64 `cbor:"4,keyasint"`
	Members int    `cbor:"5,keyasint"`
}

// BackupMember is one member of a room: when they joined (Unix
// nanoseconds) and their read marker.
type BackupMember struct {
	User   string `cbor:"1,keyasint"`
	Joined int64  `cbor:"2,keyasint"`
	Read   uint64 `cbor:"3,keyasint,omitempty"`
}

// BackupReadRequest asks for one page of Room: with Members, the members
// named after After; otherwise messages from seq From to seq To (the
// room's last if zero).
type BackupReadRequest struct {
	Room    string `cbor:"1,keyasint"`
	Members bool   `cbor:"2,keyasint,omitempty"`
	After   string `cbor:"3,keyasint,omitempty"`
	From    uint64 `cbor:"4,keyasint,omitempty"`
	To      uint64 `cbor:"5,keyasint,omitempty"`
}

// BackupReadResponse is one page of a room. LastSeq is the room's last seq
// as the page was read: a members page lists the members at that seq.
type BackupReadResponse struct {
	Creator    string           `cbor:"1,keyasint,omitempty"`
	Created    int64            `cbor:"2,keyasint,omitempty"`
	LastSeq    uint64           `cbor:"3,keyasint"`
	Members    []BackupMember   `cbor:"4,keyasint"`
	NextMember string           `cbor:"5,keyasint,omitempty"`
	Messages   []parley.Message `cbor:"6,keyasint"`
}

// ImportRequest writes one batch of a backup into Room: Messages with
// consecutive seqs, each with its id, user, time and kind, and Members,
// the room's members at seq LastSeq, its last seq in the backup. A batch
// the room holds already changes nothing; one that disagrees with it is
// refused whole (CodeInvalid, naming the seq).
type ImportRequest struct {
	Room    string `cbor:"1,keyasint"`
	Creator string `cbor:"2,keyasint,omitempty"`
	// Created is the room's creation time, Unix nanoseconds.
	Created  int64            `cbor:"3,keyasint,omitempty"`
	Messages []parley.Message `cbor:"4,keyasint"`
	Members  []BackupMember   `cbor:"5,keyasint"`
	LastSeq  uint64           `cbor:"6,keyasint,omitempty"`
	// Batch names the request, the same in every copy the client sends:
	// a copy sent again after a lost answer reports what the first did.
	// Zero: the serving node names it.
	Batch parley.MsgID `cbor:"7,keyasint,omitempty"`
}

// ImportResponse says what a batch did.
type ImportResponse struct {
	// Added counts messages written, Skipped those the room held.
	Added        int  `cbor:"1,keyasint,omitempty"`
	Skipped      int  `cbor:"2,keyasint,omitempty"`
	MembersAdded int  `cbor:"3,keyasint,omitempty"`
	MembersStale bool `cbor:"4,keyasint,omitempty"`
	// LastSeq is the room's last seq after the batch.
	LastSeq uint64 `cbor:"5,keyasint,omitempty"`
}
