package chatcore

import (
	"log/slog"
	"testing"

	"github.com/lni/dragonboat/v4/raftio"
)

func TestLeaderWatch(t *testing.T) {
	w := newLeaderWatch(slog.New(slog.DiscardHandler))
	a, b := w.changed(4), w.changed(8)
	if w.changed(4) != a {
		t.Fatal("two waits on one shard got different contexts")
	}
	w.LeaderUpdated(raftio.LeaderInfo{ShardID: 4, LeaderID: 2, Term: 3})
	if a.Err() == nil {
		t.Fatal("shard 4's watch survived its leader change")
	}
	if b.Err() != nil {
		t.Fatal("shard 8's watch ended at shard 4's leader change")
	}
	if w.changed(4).Err() != nil {
		t.Fatal("a new watch of shard 4 starts ended")
	}
	w.close()
	if b.Err() == nil || w.changed(12).Err() == nil {
		t.Fatal("watches outlive close")
	}
}
