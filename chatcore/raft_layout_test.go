package chatcore_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// TestOpenKeepsTheRaftLayout creates a node with the default profile's
// old Raft layout (four LogDB and two engine partitions) and an identity
// written before identities recorded it, and reopens it: the node must open
// with the layout its data dir has, not the profile's new one, which
// dragonboat would refuse. A new node records the profile's layout.
func TestOpenKeepsTheRaftLayout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	fresh := filepath.Join(t.TempDir(), "fresh")
	n, err := chatcore.Start(ctx, chatcore.Config{DataDir: fresh, RaftAddr: chatcoretest.FreeAddr(t), Profile: chatcore.ProfileDefault, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if got := raftLayoutIn(t, identityFields(t, fresh)); got != [2]uint64{1, 1} {
		t.Fatalf("a new default node records the Raft layout %v, want 1 LogDB and 1 engine partition", got)
	}

	old := filepath.Join(t.TempDir(), "old")
	cfg := chatcore.Config{DataDir: old, RaftAddr: chatcoretest.FreeAddr(t), Profile: chatcore.WithRaftLayout(chatcore.ProfileDefault, 4, 2), Shards: 2}
	if n, err = chatcore.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	first := send(t, n, "general", "alice", "before the upgrade")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	fields := identityFields(t, old)
	if got := raftLayoutIn(t, fields); got != [2]uint64{4, 2} {
		t.Fatalf("recorded Raft layout %v, want 4 LogDB and 2 engine partitions", got)
	}
	delete(fields, "raft")
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chatcore.DataLayout(old).Identity(), b, 0o600); err != nil {
		t.Fatal(err)
	}

	cfg.Profile = chatcore.ProfileDefault
	if n, err = chatcore.Open(ctx, cfg); err != nil {
		t.Fatalf("reopening a node of the old layout: %v", err)
	}
	defer n.Close()
	if msgs := history(t, n, "general"); len(msgs) != 1 || msgs[0].Seq != first.Seq {
		t.Fatalf("history after reopening: %v", msgs)
	}
}

// identityFields reads the identity file of the node in dir.
func identityFields(t *testing.T, dir string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(chatcore.DataLayout(dir).Identity())
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	return fields
}

// raftLayoutIn returns the LogDB and engine partitions an identity records.
func raftLayoutIn(t *testing.T, fields map[string]json.RawMessage) [2]uint64 {
	t.Helper()
	var l struct {
		LogDB  uint64 `json:"logdb_shards"`
		Engine uint64 `json:"engine_shards"`
	}
	if err := json.Unmarshal(fields["raft"], &l); err != nil {
		t.Fatalf("identity's raft layout %s: %v", fields["raft"], err)
	}
	return [2]uint64{l.LogDB, l.Engine}
}
