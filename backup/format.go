// Package backup is the file format of a Parley backup: JSON Lines, one
// record a line, written by "parley admin export" and read by "parley admin
// import". It is the one definition of that format; the SDK (client.Export,
// client.Import) and the CLI use it, and the server never parses it: it
// receives import batches as protocol requests.
//
// A backup starts with a header line, then holds each room in turn: a room
// line, its members, then its messages from seq 1 to the room's last seq:
//
//	{"type":"parley-backup","version":1,"cluster":"c0ffee…","exported_at":"2026-12-01T05:00:00Z","rooms":2}
//	{"type":"room","room":"general","creator":"alice","created":"…","last_seq":2,"members":1}
//	{"type":"member","room":"general","user":"alice","joined":"…","read":2}
//	{"type":"msg","room":"general","seq":1,"id":"01JD…","user":"alice","ts":"…","kind":"join","text":"alice joined"}
//	{"type":"msg","room":"general","seq":2,"id":"01JD…","user":"alice","ts":"…","text":"hello"}
//	{"type":"room","room":"dm.alice.bob",…}
//
// Times are RFC 3339 with nanoseconds, exactly as the cluster stamped them.
package backup

import (
	"time"

	"github.com/parleychat/parley"
)

// Version is the format version this package writes and reads.
const Version = 1

// MaxLine bounds one line: a message of parley.MaxTextBytes, every byte
// escaped, and its fields.
const MaxLine = 128 << 10

// Line types: the "type" field of each line.
const (
	TypeHeader  = "parley-backup"
	TypeRoom    = "room"
	TypeMember  = "member"
	TypeMessage = "msg"
)

// Header is a backup's first line.
type Header struct {
	Version int
	// Cluster is the id of the cluster the backup was exported from.
	Cluster    string
	ExportedAt time.Time
	// Rooms counts the rooms that follow.
	Rooms int
}

// Room starts a room: its members and messages follow.
type Room struct {
	Name string
	// Creator and Created are the room's directory entry.
	Creator string
	Created time.Time
	// LastSeq is the room's last seq: its messages are seqs 1 to LastSeq.
	LastSeq uint64
	// Members counts the member lines that follow.
	Members int
}

// Member is one member of a room as the room was at its LastSeq.
type Member struct {
	Room   string
	User   string
	Joined time.Time
	// Read is the member's read marker: the last seq they have seen.
	Read uint64
}

// Record is one line of a backup: exactly one of its fields is set.
type Record struct {
	Header  *Header
	Room    *Room
	Member  *Member
	Message *parley.Message
}

// line is a Record as JSON.
type line struct {
	Type string `json:"type"`
	// header
	Version    int        `json:"version,omitempty"`
	Cluster    string     `json:"cluster,omitempty"`
	ExportedAt *time.Time `json:"exported_at,omitempty"`
	Rooms      *int       `json:"rooms,omitempty"`
	// room, member, message
	Room    string     `json:"room,omitempty"`
	Creator string     `json:"creator,omitempty"`
	Created *time.Time `json:"created,omitempty"`
	LastSeq *uint64    `json:"last_seq,omitempty"`
	Members *int       `json:"members,omitempty"`
	// member
	Joined *time.Time `json:"joined,omitempty"`
	Read   *uint64    `json:"read,omitempty"`
	// message
	Seq  uint64        `json:"seq,omitempty"`
	ID   *parley.MsgID `json:"id,omitempty"`
	User string        `json:"user,omitempty"`
	TS   *time.Time    `json:"ts,omitempty"`
	Kind string        `json:"kind,omitempty"`
	Text string        `json:"text,omitempty"`
}

func lineOf(r Record) line {
	switch {
	case r.Header != nil:
		h := r.Header
		t := h.ExportedAt.UTC()
		return line{Type: TypeHeader, Version: h.Version, Cluster: h.Cluster, ExportedAt: &t, Rooms: &h.Rooms}
	case r.Room != nil:
		m := r.Room
		l := line{Type: TypeRoom, Room: m.Name, Creator: m.Creator, LastSeq: &m.LastSeq, Members: &m.Members}
		if !m.Created.IsZero() {
			t := m.Created.UTC()
			l.Created = &t
		}
		return l
	case r.Member != nil:
		m := r.Member
		t := m.Joined.UTC()
		return line{Type: TypeMember, Room: m.Room, User: m.User, Joined: &t, Read: &m.Read}
	case r.Message != nil:
		m := r.Message
		t := m.TS.UTC()
		return line{Type: TypeMessage, Room: m.Room, Seq: m.Seq, ID: &m.ID, User: m.User, TS: &t, Kind: m.Kind, Text: m.Text}
	}
	return line{}
}
