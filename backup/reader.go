package backup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/parleychat/parley"
)

// LineError is what is wrong with one line of a backup.
type LineError struct {
	// Line is the line's number, from 1.
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the error of the line.
func (e *LineError) Unwrap() error { return e.Err }

// Reader reads a backup line by line and checks it as it goes: the header
// first, with a version this package knows; each room's members, then its
// messages from seq 1 without a gap, as many as the room line says; as many
// rooms as the header says. Every error names its line and wraps
// parley.ErrInvalid.
type Reader struct {
	s    *bufio.Scanner
	n    int // lines read
	hdr  *Header
	seen map[string]bool // rooms seen

	room    *Room // the room being read, nil before the first
	members int   // its members read
	users   map[string]bool
	next    uint64 // its next seq expected
	rooms   int    // rooms read
	done    bool
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), MaxLine+1)
	return &Reader{s: s, seen: make(map[string]bool)}
}

// Header returns the backup's header once the first record is read.
func (r *Reader) Header() *Header { return r.hdr }

// Line returns the number of the line last read.
func (r *Reader) Line() int { return r.n }

// Next returns the next record, or io.EOF after the last one once the
// whole backup has checked out. An error other than io.EOF is a
// *LineError, or a read error of the underlying reader.
func (r *Reader) Next() (Record, error) {
	if r.done {
		return Record{}, io.EOF
	}
	if !r.s.Scan() {
		err := r.s.Err()
		if errors.Is(err, bufio.ErrTooLong) {
			return Record{}, r.fail(r.n+1, fmt.Errorf("longer than %d bytes", MaxLine))
		}
		if err != nil {
			return Record{}, fmt.Errorf("backup: line %d: %w", r.n+1, err)
		}
		if err := r.end(); err != nil {
			return Record{}, r.fail(r.n, err)
		}
		r.done = true
		return Record{}, io.EOF
	}
	r.n++
	rec, err := r.parse(bytes.TrimSuffix(r.s.Bytes(), []byte("\r")))
	if err != nil {
		return Record{}, r.fail(r.n, err)
	}
	return rec, nil
}

func (r *Reader) fail(n int, err error) error {
	r.done = true
	return &LineError{Line: n, Err: fmt.Errorf("%w: %w", err, parley.ErrInvalid)}
}

// parse decodes and checks one line.
func (r *Reader) parse(b []byte) (Record, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Record{}, fmt.Errorf("not a backup record: %v", err)
	}
	if dec.More() {
		return Record{}, errors.New("more than one record on the line")
	}
	if r.hdr == nil && l.Type != TypeHeader {
		return Record{}, fmt.Errorf("a %q line before the header: not a Parley backup", l.Type)
	}
	switch l.Type {
	case TypeHeader:
		return r.header(l)
	case TypeRoom:
		return r.startRoom(l)
	case TypeMember:
		return r.member(l)
	case TypeMessage:
		return r.message(l)
	}
	return Record{}, fmt.Errorf("unknown record type %q", l.Type)
}

func (r *Reader) header(l line) (Record, error) {
	switch {
	case r.hdr != nil:
		return Record{}, errors.New("a second header")
	case l.Version != Version:
		return Record{}, fmt.Errorf("format version %d, this program reads version %d", l.Version, Version)
	case l.Rooms == nil || *l.Rooms < 0 || l.ExportedAt == nil:
		return Record{}, errors.New("header without its room count or export time")
	}
	r.hdr = &Header{Version: l.Version, Cluster: l.Cluster, ExportedAt: *l.ExportedAt, Rooms: *l.Rooms}
	return Record{Header: r.hdr}, nil
}

func (r *Reader) startRoom(l line) (Record, error) {
	if err := r.endRoom(); err != nil {
		return Record{}, err
	}
	switch {
	case parley.ValidateRoom(l.Room) != nil:
		return Record{}, fmt.Errorf("room name %q: %v", l.Room, parley.ValidateRoom(l.Room))
	case r.seen[l.Room]:
		return Record{}, fmt.Errorf("room %s a second time", l.Room)
	case l.Creator != "" && parley.ValidateUser(l.Creator) != nil:
		return Record{}, fmt.Errorf("room %s: creator %q: %v", l.Room, l.Creator, parley.ValidateUser(l.Creator))
	case l.LastSeq == nil || l.Members == nil || *l.Members < 0:
		return Record{}, fmt.Errorf("room %s without its last seq or member count", l.Room)
	case r.rooms == r.hdr.Rooms:
		return Record{}, fmt.Errorf("room %s beyond the header's %d rooms", l.Room, r.hdr.Rooms)
	}
	room := &Room{Name: l.Room, Creator: l.Creator, LastSeq: *l.LastSeq, Members: *l.Members}
	if l.Created != nil {
		room.Created = *l.Created
	}
	r.seen[l.Room] = true
	r.rooms++
	r.room, r.members, r.next, r.users = room, 0, 1, make(map[string]bool)
	return Record{Room: room}, nil
}

func (r *Reader) member(l line) (Record, error) {
	if err := r.inRoom(l); err != nil {
		return Record{}, err
	}
	switch {
	case r.next > 1:
		return Record{}, fmt.Errorf("room %s: a member after its messages", l.Room)
	case r.members == r.room.Members:
		return Record{}, fmt.Errorf("room %s: more members than the room's %d", l.Room, r.room.Members)
	case parley.ValidateUser(l.User) != nil:
		return Record{}, fmt.Errorf("room %s: member %q: %v", l.Room, l.User, parley.ValidateUser(l.User))
	case parley.CheckAccess(l.Room, l.User) != nil:
		return Record{}, fmt.Errorf("room %s: %s cannot be a member of it", l.Room, l.User)
	case r.users[l.User]:
		return Record{}, fmt.Errorf("room %s: member %s a second time", l.Room, l.User)
	case l.Joined == nil || l.Read == nil:
		return Record{}, fmt.Errorf("room %s: member %s without join time or read marker", l.Room, l.User)
	case *l.Read > r.room.LastSeq:
		return Record{}, fmt.Errorf("room %s: member %s has read seq %d, past the room's last seq %d", l.Room, l.User, *l.Read, r.room.LastSeq)
	}
	r.users[l.User] = true
	r.members++
	return Record{Member: &Member{Room: l.Room, User: l.User, Joined: *l.Joined, Read: *l.Read}}, nil
}

func (r *Reader) message(l line) (Record, error) {
	if err := r.inRoom(l); err != nil {
		return Record{}, err
	}
	switch {
	case l.Seq != r.next:
		return Record{}, fmt.Errorf("room %s: seq %d where seq %d was due", l.Room, l.Seq, r.next)
	case l.Seq > r.room.LastSeq:
		return Record{}, fmt.Errorf("room %s: seq %d past the room's last seq %d", l.Room, l.Seq, r.room.LastSeq)
	case r.members != r.room.Members:
		return Record{}, fmt.Errorf("room %s: %d members of %d before its messages", l.Room, r.members, r.room.Members)
	case l.ID == nil || l.ID.IsZero():
		return Record{}, fmt.Errorf("room %s: seq %d: no message id", l.Room, l.Seq)
	case l.TS == nil || l.TS.UnixNano() <= 0:
		return Record{}, fmt.Errorf("room %s: seq %d: no time", l.Room, l.Seq)
	case parley.ValidateUser(l.User) != nil:
		return Record{}, fmt.Errorf("room %s: seq %d: user %q: %v", l.Room, l.Seq, l.User, parley.ValidateUser(l.User))
	case parley.CheckAccess(l.Room, l.User) != nil:
		return Record{}, fmt.Errorf("room %s: seq %d: %s cannot write to it", l.Room, l.Seq, l.User)
	case l.Kind != "" && l.Kind != parley.KindJoin && l.Kind != parley.KindLeave:
		return Record{}, fmt.Errorf("room %s: seq %d: unknown kind %q", l.Room, l.Seq, l.Kind)
	case parley.ValidateText(l.Text) != nil:
		return Record{}, fmt.Errorf("room %s: seq %d: %v", l.Room, l.Seq, parley.ValidateText(l.Text))
	}
	r.next++
	return Record{Message: &parley.Message{Room: l.Room, Seq: l.Seq, ID: *l.ID, User: l.User, TS: l.TS.UTC(), Kind: l.Kind, Text: l.Text}}, nil
}

// inRoom checks that a member or message line belongs to the room being
// read.
func (r *Reader) inRoom(l line) error {
	if r.room == nil {
		return fmt.Errorf("a %s line before any room line", l.Type)
	}
	if l.Room != r.room.Name {
		return fmt.Errorf("a %s line of room %q inside room %s", l.Type, l.Room, r.room.Name)
	}
	return nil
}

// endRoom checks that the room being read is complete.
func (r *Reader) endRoom() error {
	if r.room == nil {
		return nil
	}
	if r.members != r.room.Members {
		return fmt.Errorf("room %s ends after %d of its %d members", r.room.Name, r.members, r.room.Members)
	}
	if r.next-1 != r.room.LastSeq {
		return fmt.Errorf("room %s ends after %d of its %d messages", r.room.Name, r.next-1, r.room.LastSeq)
	}
	return nil
}

// end checks the backup at its end.
func (r *Reader) end() error {
	if r.hdr == nil {
		return errors.New("no header: an empty file is not a Parley backup")
	}
	if err := r.endRoom(); err != nil {
		return fmt.Errorf("end of file: %w", err)
	}
	if r.rooms != r.hdr.Rooms {
		return fmt.Errorf("end of file after %d of the header's %d rooms", r.rooms, r.hdr.Rooms)
	}
	return nil
}
