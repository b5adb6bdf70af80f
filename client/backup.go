package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/backup"
	"github.com/parleychat/parley/transport"
)

// importBatchBytes bounds the text and names of one import batch, well
// inside a request frame.
const importBatchBytes = 256 << 10

// ExportProgress is how far an export has come.
type ExportProgress struct {
	// Rooms counts rooms started, of RoomsTotal.
	Rooms, RoomsTotal int
	// Messages counts messages received.
	Messages uint64
}

// Export streams rooms as the records of a backup (package backup): the
// header, then each room's line, its members and its messages from seq 1,
// in order, each handed to fn. With no rooms it exports every room of the
// cluster, direct-message rooms included. Only an admin may export; anyone
// else gets an error that is parley.ErrForbidden. Each room is one
// consistent cut: its members as they were at its last seq, and its
// messages up to that seq. An error from fn stops the export and is
// returned. progress, if not nil, is called as messages arrive. An export
// whose connection is lost resumes on the next one where it broke, with the
// same cut of the room it was in.
func (c *Client) Export(ctx context.Context, rooms []string, fn func(backup.Record) error, progress func(ExportProgress)) error {
	if err := c.export(ctx, rooms, fn, progress); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// exportResumes bounds how often an export resumes on a new connection.
const exportResumes = 20

// exportState is how far an export has come, to resume it where it broke.
type exportState struct {
	p          ExportProgress
	started    bool  // the header was handed on
	exportedAt int64 // the first attempt's ExportedAt
	room       string
	last, next uint64 // the room's last seq, and the next one due
	members    int    // members of the room still due
}

func (c *Client) export(ctx context.Context, rooms []string, fn func(backup.Record) error, progress func(ExportProgress)) error {
	var es exportState
	bo := newBackoff()
	for attempt := 0; ; attempt++ {
		err := c.exportOnce(ctx, rooms, &es, fn, progress)
		if err == nil || ctx.Err() != nil || attempt == exportResumes {
			return err
		}
		var fnErr *exportFnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		d, ok := retryDelay(err, &bo)
		if !ok {
			return err
		}
		if es.members > 0 {
			return fmt.Errorf("room %s: interrupted while its members were sent: %w", es.room, err)
		}
		c.log.Info("export interrupted; resuming", "room", es.room, "seq", es.next, "err", err)
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// exportFnError is an error of the caller's fn: it ends the export.
type exportFnError struct{ err error }

func (e *exportFnError) Error() string { return e.err.Error() }

// exportOnce runs or resumes the export on the live connection until it
// ends or its stream breaks.
func (c *Client) exportOnce(ctx context.Context, rooms []string, es *exportState, fn func(backup.Record) error, progress func(ExportProgress)) error {
	call := func(r backup.Record) error {
		if err := fn(r); err != nil {
			return &exportFnError{err}
		}
		return nil
	}
	cn, err := c.current(ctx)
	if err != nil {
		return err
	}
	sub := c.subIDs.Add(1)
	w, err := cn.tc.ExpectStream(sub)
	if err != nil {
		return err
	}
	req := transport.ExportRequest{Rooms: rooms, Sub: sub}
	if es.started {
		req.After, req.Until = es.room, es.exportedAt
		if es.room != "" && es.next <= es.last {
			req.Cont = &transport.ExportCont{Room: es.room, From: es.next, To: es.last}
		}
	}
	var resp transport.ExportResponse
	if err := cn.call(ctx, transport.OpExport, req, &resp); err != nil {
		w.Drop()
		return err
	}
	st, err := cn.awaitStream(ctx, w, "export")
	if err != nil {
		return err
	}
	defer st.cancel()
	defer context.AfterFunc(ctx, st.cancel)()
	if !es.started {
		hdr := backup.Header{Version: backup.Version, Cluster: resp.ClusterID, ExportedAt: parley.UnixTime(resp.ExportedAt), Rooms: resp.Rooms}
		if err := call(backup.Record{Header: &hdr}); err != nil {
			return err
		}
		es.started, es.exportedAt, es.p.RoomsTotal = true, resp.ExportedAt, resp.Rooms
	} else if es.p.Rooms+resp.Rooms != es.p.RoomsTotal {
		return fmt.Errorf("the cluster's rooms changed while the export was resumed: %d of %d rooms sent, %d to come", es.p.Rooms, es.p.RoomsTotal, resp.Rooms)
	}
	for {
		var ev transport.ExportEvent
		if err := st.fr.Read(&ev); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: export after %d of %d rooms: %w", errStreamEnded, es.p.Rooms, es.p.RoomsTotal, err)
		}
		switch {
		case ev.Error != nil:
			return ev.Error
		case ev.Done:
			if es.p.Rooms != es.p.RoomsTotal || es.next <= es.last || es.members > 0 {
				return fmt.Errorf("the node ended the export early: %d of %d rooms", es.p.Rooms, es.p.RoomsTotal)
			}
			return nil
		case ev.Room != nil:
			r := ev.Room
			if es.room != "" && (es.next <= es.last || es.members > 0 || r.Name <= es.room) {
				return fmt.Errorf("room %s out of order after room %s", r.Name, es.room)
			}
			es.room, es.last, es.next, es.members = r.Name, r.LastSeq, 1, r.Members
			es.p.Rooms++
			rec := &backup.Room{Name: r.Name, Creator: r.Creator, LastSeq: r.LastSeq, Members: r.Members}
			if r.Created > 0 {
				rec.Created = parley.UnixTime(r.Created)
			}
			if err := call(backup.Record{Room: rec}); err != nil {
				return err
			}
		}
		for _, m := range ev.Members {
			es.members--
			if err := call(backup.Record{Member: &backup.Member{Room: es.room, User: m.User, Joined: parley.UnixTime(m.Joined), Read: m.Read}}); err != nil {
				return err
			}
		}
		for i := range ev.Messages {
			m := &ev.Messages[i]
			if m.Room != es.room || m.Seq != es.next {
				return fmt.Errorf("%w: export sent %s seq %d where %s seq %d was due", errGap, m.Room, m.Seq, es.room, es.next)
			}
			es.next++
			if err := call(backup.Record{Message: m}); err != nil {
				return err
			}
		}
		es.p.Messages += uint64(len(ev.Messages))
		if progress != nil {
			progress(es.p)
		}
	}
}

// ImportProgress is how far an import has come.
type ImportProgress struct {
	// Room is the room being imported.
	Room string
	// Messages counts messages imported (added or found already there),
	// of MessagesTotal in the backup.
	Messages, MessagesTotal uint64
}

// ImportStats says what an import did.
type ImportStats struct {
	// Cluster is the id of the cluster the backup came from.
	Cluster string
	Rooms   int
	// Added counts messages written; Skipped those the cluster held
	// already.
	Added, Skipped int
	MembersAdded   int
	// MembersStale lists rooms that had moved past the backup's last seq,
	// whose membership was left as it is.
	MembersStale []string
}

// Import restores a backup read from r into the cluster: every room gets
// the backup's messages with their seqs, ids, users, times and kinds, and
// its members. Only an admin may import. The whole backup is checked
// before anything is sent (r is read twice: seeked back if it is an
// io.ReadSeeker, else spooled to a temporary file), so bad input, with an
// error naming its line (a *backup.LineError), changes nothing. Rooms are
// then imported one after another in batches, each applied whole or not
// at all. A room that holds the backup's messages already is left as it
// is, so importing a backup twice, or again after an interruption, is
// safe; a room that holds other messages at the backup's seqs is refused,
// unchanged, and the import stops there with an error naming the room and
// seq. progress, if not nil, is called after each batch.
func (c *Client) Import(ctx context.Context, r io.Reader, progress func(ImportProgress)) (ImportStats, error) {
	st, err := c.importBackup(ctx, r, progress)
	if err != nil {
		return st, fmt.Errorf("import: %w", err)
	}
	return st, nil
}

func (c *Client) importBackup(ctx context.Context, r io.Reader, progress func(ImportProgress)) (ImportStats, error) {
	src, total, cleanup, err := checkBackup(r)
	if err != nil {
		return ImportStats{}, err
	}
	defer cleanup()
	im := &importer{c: c, ctx: ctx, progress: progress, p: ImportProgress{MessagesTotal: total}}
	br := backup.NewReader(src)
	for {
		rec, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return im.st, err
		}
		if err := im.take(rec, br.Line()); err != nil {
			return im.st, err
		}
	}
	if h := br.Header(); h != nil {
		im.st.Cluster = h.Cluster
	}
	return im.st, im.flushRoom()
}

// checkBackup reads all of r through a backup.Reader and returns a reader
// of the same bytes from the start, and the number of messages.
func checkBackup(r io.Reader) (io.Reader, uint64, func(), error) {
	count := func(r io.Reader) (uint64, error) {
		br := backup.NewReader(r)
		var n uint64
		for {
			rec, err := br.Next()
			if err == io.EOF {
				return n, nil
			}
			if err != nil {
				return 0, err
			}
			if rec.Message != nil {
				n++
			}
		}
	}
	if rs, ok := r.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("backup: %w", err)
		}
		n, err := count(rs)
		if err != nil {
			return nil, 0, nil, err
		}
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, 0, nil, fmt.Errorf("backup: %w", err)
		}
		return rs, n, func() {}, nil
	}
	f, err := os.CreateTemp("", "parley-import-*.jsonl")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("backup: spool: %w", err)
	}
	cleanup := func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := count(io.TeeReader(r, f))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}

// importer turns the records of a checked backup into import batches.
type importer struct {
	c        *Client
	ctx      context.Context
	progress func(ImportProgress)
	p        ImportProgress
	st       ImportStats

	room    *backup.Room
	members []transport.BackupMember
	batch   []parley.Message
	size    int
	line    int // the line of the batch's first message
}

func (im *importer) take(rec backup.Record, line int) error {
	switch {
	case rec.Room != nil:
		if err := im.flushRoom(); err != nil {
			return err
		}
		im.room, im.members = rec.Room, nil
		im.p.Room = rec.Room.Name
		im.st.Rooms++
	case rec.Member != nil:
		m := rec.Member
		im.members = append(im.members, transport.BackupMember{User: m.User, Joined: m.Joined.UnixNano(), Read: m.Read})
	case rec.Message != nil:
		if len(im.batch) == 0 {
			im.line = line
		}
		m := *rec.Message
		m.Room = "" // the request names it once
		im.batch = append(im.batch, m)
		im.size += len(rec.Message.Text) + len(rec.Message.User) + 48
		if len(im.batch) == transport.MaxImportBatch || im.size >= importBatchBytes {
			return im.send(false)
		}
	}
	return nil
}

// flushRoom sends the rest of the room being read: its last messages and
// its members.
func (im *importer) flushRoom() error {
	if im.room == nil {
		return nil
	}
	if err := im.send(true); err != nil {
		return err
	}
	for len(im.members) > transport.MaxImportBatch {
		if err := im.request(transport.ImportRequest{Members: im.members[:transport.MaxImportBatch]}); err != nil {
			return err
		}
		im.members = im.members[transport.MaxImportBatch:]
	}
	if len(im.members) > 0 || im.room.LastSeq == 0 {
		if err := im.request(transport.ImportRequest{Members: im.members}); err != nil {
			return err
		}
	}
	im.room, im.members = nil, nil
	return nil
}

// send sends the batch of messages, if any.
func (im *importer) send(last bool) error {
	if len(im.batch) == 0 {
		return nil
	}
	req := transport.ImportRequest{Messages: im.batch}
	if last && len(im.members) <= transport.MaxImportBatch {
		req.Members, im.members = im.members, nil
	}
	if err := im.request(req); err != nil {
		return err
	}
	im.p.Messages += uint64(len(im.batch))
	im.batch, im.size = nil, 0
	if im.progress != nil {
		im.progress(im.p)
	}
	return nil
}

// request fills in the room and sends one batch, retried across
// reconnects (an import batch is safe to repeat, and its name makes a
// repeat report what the first copy did).
func (im *importer) request(req transport.ImportRequest) error {
	r := im.room
	req.Room, req.Creator, req.LastSeq = r.Name, r.Creator, r.LastSeq
	req.Batch = parley.NewMsgID(time.Now())
	if !r.Created.IsZero() {
		req.Created = r.Created.UnixNano()
	}
	var resp transport.ImportResponse
	if err := im.c.do(im.ctx, transport.OpImport, req, &resp); err != nil {
		if len(req.Messages) > 0 {
			first, last := req.Messages[0].Seq, req.Messages[len(req.Messages)-1].Seq
			return fmt.Errorf("room %s, seqs %d to %d (from line %d): %w", r.Name, first, last, im.line, err)
		}
		return fmt.Errorf("room %s, members: %w", r.Name, err)
	}
	im.st.Added += resp.Added
	im.st.Skipped += resp.Skipped
	im.st.MembersAdded += resp.MembersAdded
	if resp.MembersStale && (len(im.st.MembersStale) == 0 || im.st.MembersStale[len(im.st.MembersStale)-1] != r.Name) {
		im.st.MembersStale = append(im.st.MembersStale, r.Name)
	}
	return nil
}
