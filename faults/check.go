package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/parleychat/parley"
)

// CheckLinearizable checks the history against the per-room log model. If
// it is not linearizable, or the checker cannot decide within timeout, it
// writes porcupine's visualisation to a file in dir and names it in the
// error.
func CheckLinearizable(ops []porcupine.Operation, timeout time.Duration, dir string) error {
	model := roomLog.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	if res == porcupine.Ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("history is %s; cannot save the visualisation: %w", res, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("history-%s.html", time.Now().UTC().Format("20060102-150405")))
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		return fmt.Errorf("history is %s; cannot save the visualisation: %w", res, err)
	}
	if res == porcupine.Unknown {
		return fmt.Errorf("the checker could not decide within %v whether the history of %d operations is linearizable; see %s", timeout, len(ops), path)
	}
	return fmt.Errorf("the history of %d operations is not linearizable: see %s", len(ops), path)
}

// CheckReplicas checks that every node's copy of a room is the same:
// logs[node] is that node's copy.
func CheckReplicas(room string, logs map[string][]parley.Message) error {
	var first string
	var want []parley.Message
	for node, msgs := range logs {
		if first == "" {
			first, want = node, msgs
			continue
		}
		if len(msgs) != len(want) {
			return fmt.Errorf("room %s: %s holds %d messages, %s holds %d", room, node, len(msgs), first, len(want))
		}
		for i := range msgs {
			if !sameMessage(msgs[i], want[i]) {
				return fmt.Errorf("room %s: seq %d differs: %s has %s, %s has %s",
					room, i+1, node, describe(msgs[i]), first, describe(want[i]))
			}
		}
	}
	return nil
}

func sameMessage(a, b parley.Message) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.User == b.User && a.Text == b.Text && a.TS.Equal(b.TS)
}

func describe(m parley.Message) string {
	return fmt.Sprintf("#%d %s by %s %q", m.Seq, m.ID, m.User, m.Text)
}

// CheckSends checks a room's final log against what was sent to it: seqs
// run 1..N, every message is one of the sends, no id appears twice, every
// acknowledged send is at its seq, and every send of the room is
// accounted for.
func CheckSends(room string, log []parley.Message, sends map[string]Send) (lost int, err error) {
	seen := make(map[string]uint64, len(log))
	for i, m := range log {
		id := m.ID.String()
		if m.Seq != uint64(i)+1 {
			return 0, fmt.Errorf("room %s: message %d has seq %d", room, i+1, m.Seq)
		}
		if at, dup := seen[id]; dup {
			return 0, fmt.Errorf("room %s: message %s is at seq %d and %d", room, id, at, m.Seq)
		}
		seen[id] = m.Seq
		s, ok := sends[id]
		if !ok || s.Room != room {
			return 0, fmt.Errorf("room %s: seq %d holds %s, which no client sent there", room, m.Seq, describe(m))
		}
		if s.Err == nil && s.Seq != m.Seq {
			return 0, fmt.Errorf("room %s: %s was acknowledged at seq %d but is at seq %d", room, id, s.Seq, m.Seq)
		}
	}
	for id, s := range sends {
		if s.Room != room {
			continue
		}
		if _, ok := seen[id]; !ok {
			if s.Err == nil {
				return 0, fmt.Errorf("room %s: %s was acknowledged at seq %d and is lost", room, id, s.Seq)
			}
			lost++ // an unknown outcome that did not happen
		}
	}
	return lost, nil
}

// CheckFeed checks that what a subscription from seq 1 received is the
// room's final log, with no gap and no duplicate.
func CheckFeed(room string, got, log []parley.Message) error {
	if len(got) != len(log) {
		return fmt.Errorf("room %s: the subscription received %d messages, the room holds %d", room, len(got), len(log))
	}
	for i := range got {
		if !sameMessage(got[i], log[i]) {
			return fmt.Errorf("room %s: the subscription's message %d is %s, the room's %s", room, i+1, describe(got[i]), describe(log[i]))
		}
	}
	return nil
}
