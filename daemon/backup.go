package daemon

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// Backups. An export streams rooms to an admin on a server-opened stream,
// reading each room page by page from a node that hosts it (forwarded
// OpBackupRead when this node does not); an import is one request per
// batch, served by a node that hosts the room (forwarded OpImport) as one
// entry of the room's Raft log (chatcore.Node.Import).

// exportMemberTries bounds how often an export reads a busy room's members
// again because the room moved while they were paged.
const exportMemberTries = 5

// streamOpener is a carrier that can open a stream of frames of any type
// for a request (QUIC); the WebSocket cannot.
type streamOpener interface {
	openStream(ctx context.Context, id uint64) (frameStream, error)
}

// frameStream is a server-opened stream of frames after its header.
type frameStream interface {
	write(v any) error
	// done is closed when the client cancels the stream.
	done() <-chan struct{}
	close()
}

func (q *quicCarrier) openStream(ctx context.Context, id uint64) (frameStream, error) {
	stream, err := q.conn.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	s := &quicFrameStream{stream: stream}
	if err := s.write(transport.SubscribeHeader{Sub: id}); err != nil {
		stream.Close()
		return nil, err
	}
	return s, nil
}

type quicFrameStream struct{ stream *quic.SendStream }

func (s *quicFrameStream) write(v any) error {
	s.stream.SetWriteDeadline(time.Now().Add(requestTimeout))
	return transport.WriteFrame(s.stream, v, transport.DefaultMaxFrame)
}

func (s *quicFrameStream) done() <-chan struct{} { return s.stream.Context().Done() }

func (s *quicFrameStream) close() { s.stream.Close() }

// export starts streaming rooms to an admin.
func (ss *session) export(ctx context.Context, user string, r transport.ExportRequest) (transport.ExportResponse, error) {
	node := ss.srv.node
	admin, err := node.IsAdmin(ctx, user)
	if err != nil {
		return transport.ExportResponse{}, fmt.Errorf("export: %w", err)
	}
	if !admin {
		return transport.ExportResponse{}, fmt.Errorf("export: %q is not an admin of this cluster: %w", user, parley.ErrForbidden)
	}
	so, ok := ss.c.(streamOpener)
	if !ok {
		return transport.ExportResponse{}, transport.Errorf(transport.CodeInvalid, "export needs the QUIC protocol")
	}
	rooms, err := exportRooms(node, r.Rooms, r.After, r.Until)
	if err != nil {
		return transport.ExportResponse{}, fmt.Errorf("export: %w", err)
	}
	if c := r.Cont; c != nil {
		if err := parley.ValidateRoom(c.Room); err != nil || c.From == 0 || c.From > c.To {
			return transport.ExportResponse{}, fmt.Errorf("export: continue room %q from seq %d to %d: %w", c.Room, c.From, c.To, parley.ErrInvalid)
		}
	}
	resp := transport.ExportResponse{ClusterID: node.ClusterID(), ExportedAt: time.Now().UnixNano(), Rooms: len(rooms)}
	ss.log.Info("export", "rooms", len(rooms))
	ss.wg.Add(1)
	go func() {
		defer ss.wg.Done()
		ss.streamExport(so, r.Sub, user, r.Cont, rooms)
	}()
	return resp, nil
}

// exportRooms returns the rooms asked for named after after, in name
// order, checking that each is in the directory; none means every room
// (created until until, if it is not zero).
func exportRooms(node *chatcore.Node, asked []string, after string, until int64) ([]string, error) {
	recs, err := node.Rooms()
	if err != nil {
		return nil, err
	}
	all := make(map[string]bool, len(recs))
	var names []string
	for _, rec := range recs {
		all[rec.Name] = true
		if rec.Name > after && (until == 0 || rec.Created <= until) {
			names = append(names, rec.Name)
		}
	}
	if len(asked) == 0 {
		slices.Sort(names)
		return names, nil
	}
	out := slices.Clone(asked)
	slices.Sort(out)
	out = slices.Compact(out)
	out = slices.DeleteFunc(out, func(room string) bool { return room <= after })
	for _, room := range out {
		if err := parley.ValidateRoom(room); err != nil {
			return nil, fmt.Errorf("room %q: %w", room, err)
		}
		if !all[room] {
			return nil, fmt.Errorf("room %s: %w", room, parley.ErrNotFound)
		}
	}
	return out, nil
}

// streamExport writes the rooms on their own stream, ending with Done or
// the error that stopped it.
func (ss *session) streamExport(so streamOpener, id uint64, user string, cont *transport.ExportCont, rooms []string) {
	ctx, cancel := context.WithCancel(ss.c.context())
	defer cancel()
	st, err := so.openStream(ctx, id)
	if err != nil {
		return
	}
	defer st.close()
	go func() {
		select {
		case <-st.done():
			cancel()
		case <-ctx.Done():
		}
	}()
	if cont != nil {
		if err := ss.exportMessages(ctx, st, user, cont.Room, cont.From, cont.To); err != nil {
			ss.log.Warn("export failed", "room", cont.Room, "err", err)
			st.write(transport.ExportEvent{Error: wireError(err)})
			return
		}
	}
	for _, room := range rooms {
		if err := ss.exportRoom(ctx, st, user, room); err != nil {
			ss.log.Warn("export failed", "room", room, "err", err)
			st.write(transport.ExportEvent{Error: wireError(err)})
			return
		}
	}
	st.write(transport.ExportEvent{Done: true})
}

// exportRoom writes one room: its header, its members at its last seq,
// and its messages up to that seq.
func (ss *session) exportRoom(ctx context.Context, st frameStream, user, room string) error {
	head, members, err := ss.exportMembers(ctx, user, room)
	if err != nil {
		return err
	}
	err = st.write(transport.ExportEvent{Room: &transport.BackupRoom{
		Name: room, Creator: head.Creator, Created: head.Created, LastSeq: head.LastSeq, Members: len(members),
	}})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for len(members) > 0 {
		n := min(len(members), transport.MaxImportBatch)
		if err := st.write(transport.ExportEvent{Members: members[:n]}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		members = members[n:]
	}
	return ss.exportMessages(ctx, st, user, room, 1, head.LastSeq)
}

// exportMessages writes the messages of room from seq from to seq to.
func (ss *session) exportMessages(ctx context.Context, st frameStream, user, room string, from, to uint64) error {
	for from <= to {
		page, err := ss.backupReadFor(ctx, user, transport.BackupReadRequest{Room: room, From: from, To: to})
		if err != nil {
			return err
		}
		if len(page.Messages) == 0 || page.Messages[0].Seq != from {
			return fmt.Errorf("export: room %s: seq %d missing on its host: %w", room, from, parley.ErrUnavailable)
		}
		if err := st.write(transport.ExportEvent{Messages: page.Messages}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		from += uint64(len(page.Messages))
	}
	return nil
}

// exportMembers reads every member of room as it was at one seq: if the
// room moves while its members are paged, they are read again.
func (ss *session) exportMembers(ctx context.Context, user, room string) (transport.BackupReadResponse, []transport.BackupMember, error) {
	for range exportMemberTries {
		var head transport.BackupReadResponse
		var members []transport.BackupMember
		after := ""
		for {
			page, err := ss.backupReadFor(ctx, user, transport.BackupReadRequest{Room: room, Members: true, After: after})
			if err != nil {
				return head, nil, err
			}
			if after == "" {
				head = page
			} else if page.LastSeq != head.LastSeq {
				break
			}
			members = append(members, page.Members...)
			if after = page.NextMember; after == "" {
				return head, members, nil
			}
		}
	}
	return transport.BackupReadResponse{}, nil, fmt.Errorf("export: room %s moved on while its members were read, %d times: %w", room, exportMemberTries, parley.ErrUnavailable)
}

// backupReadFor reads one page within requestTimeout.
func (ss *session) backupReadFor(ctx context.Context, user string, r transport.BackupReadRequest) (transport.BackupReadResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	return ss.backupRead(ctx, user, r)
}

// backupRead serves OpBackupRead: one page of a room, from a node that
// hosts it.
func (ss *session) backupRead(ctx context.Context, user string, r transport.BackupReadRequest) (transport.BackupReadResponse, error) {
	if resp, done, err := forwardIfRemote[transport.BackupReadResponse](ctx, ss.srv, r.Room, user, transport.OpBackupRead, r); done {
		return resp, err
	}
	page, err := ss.srv.node.BackupRead(ctx, user, r.Room, chatcore.BackupQuery{Members: r.Members, After: r.After, From: r.From, To: r.To})
	if err != nil {
		return transport.BackupReadResponse{}, err
	}
	resp := transport.BackupReadResponse{Creator: page.Room.Creator, Created: page.Room.Created, LastSeq: page.LastSeq,
		NextMember: page.NextMember, Messages: page.Messages}
	for _, m := range page.Members {
		resp.Members = append(resp.Members, transport.BackupMember{User: m.User, Joined: m.Joined.UnixNano(), Read: m.Read})
	}
	return resp, nil
}

// importBatch serves OpImport: one batch of a backup, written by a node
// that hosts the room.
func (ss *session) importBatch(ctx context.Context, user string, r transport.ImportRequest) (transport.ImportResponse, error) {
	b, err := importBatchOf(r)
	if err != nil {
		return transport.ImportResponse{}, err
	}
	if resp, done, err := forwardIfRemote[transport.ImportResponse](ctx, ss.srv, r.Room, user, transport.OpImport, r); done {
		return resp, err
	}
	res, err := ss.srv.node.Import(ctx, user, b)
	if err != nil {
		return transport.ImportResponse{}, err
	}
	return transport.ImportResponse{Added: res.Added, Skipped: res.Skipped, MembersAdded: res.MembersAdded,
		MembersStale: res.MembersStale, LastSeq: res.LastSeq}, nil
}

// importBatchOf checks an import request's shape and turns it into a
// chatcore batch; chatcore checks the rest.
func importBatchOf(r transport.ImportRequest) (chatcore.ImportBatch, error) {
	if err := parley.ValidateRoom(r.Room); err != nil {
		return chatcore.ImportBatch{}, fmt.Errorf("import: %w", err)
	}
	if len(r.Messages) > transport.MaxImportBatch || len(r.Members) > transport.MaxImportBatch {
		return chatcore.ImportBatch{}, fmt.Errorf("import: room %s: more than %d messages or members in one batch: %w", r.Room, transport.MaxImportBatch, parley.ErrTooLarge)
	}
	b := chatcore.ImportBatch{Room: r.Room, Creator: r.Creator, Messages: r.Messages, LastSeq: r.LastSeq, ID: r.Batch}
	if r.Created > 0 {
		b.Created = parley.UnixTime(r.Created)
	}
	for _, m := range r.Members {
		b.Members = append(b.Members, chatcore.RoomMember{User: m.User, Joined: parley.UnixTime(m.Joined), Read: m.Read})
	}
	return b, b.Check()
}
