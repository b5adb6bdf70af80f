package main

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// runRooms implements "parley rooms": every public room of the cluster and
// the user's own direct-message rooms, as a table NAME MEMBERS LAST JOINED
// UNREAD, or one JSON object per room. UNREAD counts the messages after the
// user's read marker, which the cluster keeps (the web client moves it).
func runRooms(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("rooms", "parley rooms [flags]")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	rooms := func(ctx context.Context, c *client.Client) ([]transport.RoomInfo, error) { return c.Rooms(ctx) }
	return query(ctx, e, f, rooms, (*printer).rooms)
}

// roomJSON is the JSON line of one room.
type roomJSON struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
	LastSeq uint64 `json:"last_seq"`
	Joined  bool   `json:"joined"`
	DM      bool   `json:"dm"`
	Unread  uint64 `json:"unread"`
}

// rooms prints rooms as a table, or one JSON line each.
func (p *printer) rooms(rooms []transport.RoomInfo) error {
	if p.json {
		for _, r := range rooms {
			if err := p.writeJSON(roomJSON{Name: r.Name, Members: r.Members, LastSeq: r.LastSeq, Joined: r.Joined, DM: r.DM, Unread: r.Unread}); err != nil {
				return err
			}
		}
		return nil
	}
	rows := [][]string{{"NAME", "MEMBERS", "LAST", "JOINED", "UNREAD"}}
	for _, r := range rooms {
		unread := "-"
		if r.Joined {
			unread = strconv.FormatUint(r.Unread, 10)
		}
		rows = append(rows, []string{clean(r.Name), strconv.Itoa(r.Members), strconv.FormatUint(r.LastSeq, 10), yesNo(r.Joined), unread})
	}
	var b strings.Builder
	writeTable(&b, rows)
	_, err := io.WriteString(p.w, b.String())
	return err
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}
