package rafttcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/parleychat/parley/internal/freeport"
)

// listSM keeps every command it applies, in order, and notes whether it
// was ever recovered from a snapshot.
type listSM struct {
	mu        sync.Mutex
	cmds      []string
	recovered bool
}

func (s *listSM) Update(e sm.Entry) (sm.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cmds = append(s.cmds, string(e.Cmd))
	return sm.Result{Value: uint64(len(s.cmds))}, nil
}

func (s *listSM) Lookup(any) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds), nil
}

func (s *listSM) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.NewEncoder(w).Encode(s.cmds)
}

func (s *listSM) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recovered = true
	return json.NewDecoder(r).Decode(&s.cmds)
}

func (s *listSM) Close() error { return nil }

// chunkCounter is Factory, counting the snapshot chunks its transport
// receives.
type chunkCounter struct {
	Factory
	chunks atomic.Int64
}

func (f *chunkCounter) Create(cfg config.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	return f.Factory.Create(cfg, onBatch, func(c pb.Chunk) bool {
		f.chunks.Add(1)
		return onChunk(c)
	})
}

// TestMixedClusterWithDragonboatTransport runs one Raft shard over nodes
// of both transports, dragonboat's own included: messages and snapshots
// cross between them both ways, and every replica ends with the same log.
// It is what a rolling upgrade from dragonboat's transport goes through.
func TestMixedClusterWithDragonboatTransport(t *testing.T) {
	dir := t.TempDir()
	files := tlsFiles(t, dir, 3)
	ours := []*chunkCounter{{}, nil, {}} // node 2 runs dragonboat's transport
	var nhs []*dragonboat.NodeHost
	var sms []*listSM
	var addrs []string
	for i := range 3 {
		addr, err := freeport.Addr()
		if err != nil {
			t.Fatal(err)
		}
		cfg := withTLS(config.NodeHostConfig{
			NodeHostDir:    fmt.Sprintf("%s/nh%d", dir, i+1),
			RTTMillisecond: 10,
			RaftAddress:    addr,
			DeploymentID:   9,
			Expert:         config.ExpertConfig{LogDB: config.GetTinyMemLogDBConfig()},
		}, files[i])
		if ours[i] != nil {
			cfg.Expert.TransportFactory = ours[i]
		}
		nh, err := dragonboat.NewNodeHost(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nh.Close)
		nhs, addrs = append(nhs, nh), append(addrs, addr)
		sms = append(sms, &listSM{})
	}
	const shard = 1
	start := func(i int, join bool) {
		t.Helper()
		members := map[uint64]dragonboat.Target{}
		if !join {
			members[1] = addrs[0]
		}
		rc := config.Config{ShardID: shard, ReplicaID: uint64(i + 1), ElectionRTT: 10, HeartbeatRTT: 1,
			CheckQuorum: true, SnapshotEntries: 10, CompactionOverhead: 2}
		if err := nhs[i].StartReplica(members, join, func(uint64, uint64) sm.IStateMachine { return sms[i] }, rc); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	retry := func(what string, f func(context.Context) error) {
		t.Helper()
		for {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			err := f(rctx)
			rcancel()
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond) // a shard not ready yet fails at once: poll, do not spin
		}
	}
	propose := func(nh *dragonboat.NodeHost, prefix string) {
		t.Helper()
		for k := range 30 {
			cmd := []byte(fmt.Sprintf("%s%02d", prefix, k))
			retry("propose "+string(cmd), func(c context.Context) error {
				_, err := nh.SyncPropose(c, nh.GetNoOPSession(shard), cmd)
				return err
			})
		}
	}
	waitLeader := func(want uint64) {
		t.Helper()
		eventually(t, fmt.Sprintf("replica %d leads", want), func() bool {
			id, _, ok, err := nhs[0].GetLeaderID(shard)
			return err == nil && ok && id == want
		})
	}

	// Node 1 (ours) alone, then node 2 (dragonboat's) joins from a
	// compacted log: a snapshot goes from our sender to dragonboat's
	// receiver.
	start(0, false)
	waitLeader(1)
	propose(nhs[0], "a")
	retry("add replica 2", func(c context.Context) error { return nhs[0].SyncRequestAddReplica(c, shard, 2, addrs[1], 0) })
	start(1, true)
	// Node 2 leads: dragonboat's sender, our receiver, for messages now
	// and for the snapshot node 3 (ours) joins from.
	eventually(t, "replica 2 catches up", func() bool { return len(cmds(t, nhs[1])) == 30 })
	retry("leader transfer", func(c context.Context) error {
		if err := nhs[0].RequestLeaderTransfer(shard, 2); err != nil {
			return err
		}
		for c.Err() == nil {
			if id, _, ok, err := nhs[0].GetLeaderID(shard); err == nil && ok && id == 2 {
				return nil
			}
			time.Sleep(20 * time.Millisecond)
		}
		return c.Err()
	})
	propose(nhs[1], "b")
	retry("add replica 3", func(c context.Context) error { return nhs[1].SyncRequestAddReplica(c, shard, 3, addrs[2], 0) })
	start(2, true)

	var want []string
	for _, p := range []string{"a", "b"} {
		for k := range 30 {
			want = append(want, fmt.Sprintf("%s%02d", p, k))
		}
	}
	for i, nh := range nhs {
		eventually(t, fmt.Sprintf("replica %d has the whole log", i+1), func() bool { return slices.Equal(cmds(t, nh), want) })
	}
	for i := 1; i < 3; i++ {
		sms[i].mu.Lock()
		recovered := sms[i].recovered
		sms[i].mu.Unlock()
		if !recovered {
			t.Errorf("replica %d caught up from the log, not from a snapshot: the test did not cross transports with one", i+1)
		}
	}
	if n := ours[2].chunks.Load(); n == 0 {
		t.Error("node 3 received no snapshot chunk from dragonboat's transport")
	}
}

// cmds is what the replica on nh has applied (nil before it exists).
func cmds(t *testing.T, nh *dragonboat.NodeHost) []string {
	v, err := nh.StaleRead(1, nil)
	if err != nil {
		return nil
	}
	return v.([]string)
}
