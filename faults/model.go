package faults

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The model is a per-room append-only log (porcupine partitions the
// history by room). Its state is the room's message ids in seq order. A
// send appends its id at the seq the cluster acknowledged, or, if its
// outcome is unknown (it timed out or failed), may or may not have
// appended it; a read returns the whole log.

// opInput is an operation's input: a send of id to room, or a read of room.
type opInput struct {
	Room string
	Send bool
	ID   string // the sent message's id
}

// opOutput is an operation's result.
type opOutput struct {
	// Seq is an acknowledged send's seq.
	Seq uint64
	// Unknown marks a send whose outcome is unknown.
	Unknown bool
	// IDs are a read's message ids in seq order, joined by commas, and N
	// their number; Gap is set if the read's seqs were not 1..N.
	IDs string
	N   int
	Gap bool
}

// logState is the model's state of one room.
type logState struct {
	ids string // comma-joined
	n   int
}

func (s logState) append(id string) logState {
	if s.n == 0 {
		return logState{id, 1}
	}
	return logState{s.ids + "," + id, s.n + 1}
}

// roomLog is the porcupine model.
var roomLog = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byRoom := map[string][]porcupine.Operation{}
		var order []string
		for _, op := range h {
			r := op.Input.(opInput).Room
			if _, ok := byRoom[r]; !ok {
				order = append(order, r)
			}
			byRoom[r] = append(byRoom[r], op)
		}
		out := make([][]porcupine.Operation, 0, len(order))
		for _, r := range order {
			out = append(out, byRoom[r])
		}
		return out
	},
	Init: func() []any { return []any{logState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(logState), input.(opInput), output.(opOutput)
		switch {
		case in.Send && out.Unknown:
			return []any{s, s.append(in.ID)}
		case in.Send:
			if out.Seq == uint64(s.n)+1 {
				return []any{s.append(in.ID)}
			}
			return nil
		default:
			if !out.Gap && out.N == s.n && out.IDs == s.ids {
				return []any{s}
			}
			return nil
		}
	},
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(logState).ids))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		switch {
		case in.Send && out.Unknown:
			return fmt.Sprintf("send(%s) → unknown", short(in.ID))
		case in.Send:
			return fmt.Sprintf("send(%s) → #%d", short(in.ID), out.Seq)
		case out.Gap:
			return fmt.Sprintf("read → %d messages with a gap", out.N)
		default:
			return fmt.Sprintf("read → %d [%s]", out.N, shortList(out.IDs))
		}
	},
	DescribeState: func(state any) string {
		s := state.(logState)
		return fmt.Sprintf("%d [%s]", s.n, shortList(s.ids))
	},
}

// short abbreviates a message id for the visualisation: its last 6
// characters, the random part.
func short(id string) string {
	if len(id) > 6 {
		return id[len(id)-6:]
	}
	return id
}

// shortList abbreviates a comma-joined id list to its last few ids.
func shortList(ids string) string {
	if ids == "" {
		return ""
	}
	parts := strings.Split(ids, ",")
	if len(parts) > 4 {
		parts = append([]string{"…"}, parts[len(parts)-4:]...)
	}
	for i, p := range parts {
		parts[i] = short(p)
	}
	return strings.Join(parts, " ")
}
