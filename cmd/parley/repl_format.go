package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/transport"
)

// roomsTable renders rooms as table rows: name, members, unread and a
// note. Unread is the cluster's count from the user's read marker in a
// room the user is a member of (what "parley rooms" and the web client
// show), else the room's last seq less the last seq seen, as seen tells.
func roomsTable(rooms []transport.RoomInfo, current, me string, seen func(room string) uint64) []string {
	if len(rooms) == 0 {
		return []string{"no rooms yet: /join ROOM makes one"}
	}
	rows := [][]string{{"ROOM", "MEMBERS", "UNREAD", ""}}
	for _, ri := range rooms {
		var notes []string
		if ri.Name == current {
			notes = append(notes, "current")
		}
		if ri.DM {
			if peer := dmPeer(ri.Name, me); peer != "" {
				notes = append(notes, "direct messages with "+peer)
			}
		} else if ri.Joined {
			notes = append(notes, "joined")
		}
		rows = append(rows, []string{
			clean(ri.Name),
			strconv.Itoa(ri.Members),
			strconv.FormatUint(roomUnread(ri, seen), 10),
			strings.Join(notes, ", "),
		})
	}
	return tableLines(rows)
}

func roomUnread(ri transport.RoomInfo, seen func(room string) uint64) uint64 {
	if ri.Joined {
		return ri.Unread
	}
	return unread(ri.LastSeq, seen(ri.Name))
}

// tableLines renders rows with writeTable, as lines without trailing
// blanks.
func tableLines(tables ...[][]string) []string {
	var b strings.Builder
	for i, rows := range tables {
		if i > 0 {
			b.WriteString("\n")
		}
		writeTable(&b, rows)
	}
	out := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range out {
		out[i] = strings.TrimRight(l, " ")
	}
	return out
}

// whoLines renders a room's members, online ones first.
func whoLines(mode colorMode, room string, members []transport.Member) []string {
	members = slices.Clone(members)
	slices.SortStableFunc(members, func(a, b transport.Member) int {
		if a.Online != b.Online {
			if a.Online {
				return -1
			}
			return 1
		}
		return strings.Compare(a.User, b.User)
	})
	online := 0
	for _, m := range members {
		if m.Online {
			online++
		}
	}
	noun := "members"
	if len(members) == 1 {
		noun = "member"
	}
	out := []string{fmt.Sprintf("%s: %d %s, %d online", clean(room), len(members), noun, online)}
	for _, m := range members {
		state := "offline"
		if m.Online {
			state = "online"
		}
		out = append(out, "  "+paint(mode, nameColor(mode, m.User), clean(m.User))+" "+state)
	}
	return out
}

// statusLines renders the cluster's status as two tables; the node the
// REPL is connected to is marked.
func statusLines(st transport.StatusResponse, connected uint64) []string {
	nodes := [][]string{{"NODE", "NAME", "ADDR", "STATE", "VOTERS", "LEADS"}}
	for _, n := range st.Nodes {
		state := "down"
		if n.Up {
			state = "up"
		}
		if n.State != "" {
			state += ", " + clean(n.State)
		}
		if n.ID == connected {
			state += " (connected)"
		}
		nodes = append(nodes, []string{strconv.FormatUint(n.ID, 10), clean(n.Name), clean(n.Addr), state,
			strconv.Itoa(n.Voters), strconv.Itoa(n.Leaders)})
	}
	shards := [][]string{{"SHARD", "LEADER", "TERM", "REPLICAS"}}
	for _, s := range st.Shards {
		leader := "none"
		if s.Leader != 0 {
			leader = "node " + strconv.FormatUint(s.Leader, 10)
		}
		replicas := joinIDs(s.Replicas)
		if len(s.NonVoting) > 0 {
			replicas += " (non-voting " + joinIDs(s.NonVoting) + ")"
		}
		if m := moving(s); m != nil {
			replicas += " moving to " + joinIDs(m)
		}
		shards = append(shards, []string{strconv.FormatUint(s.ID, 10), leader, strconv.FormatUint(s.Term, 10), replicas})
	}
	return tableLines(nodes, shards)
}
