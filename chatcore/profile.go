package chatcore

import (
	"fmt"

	"github.com/lni/dragonboat/v4/config"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// Profile sizes a node's memory: its Raft log store, its state db and its
// execution engine. A node keeps the profile it was created with, and the
// Raft layout too (see raftLayout): dragonboat cannot change the LogDB and
// engine partitioning of an existing data dir.
type Profile struct {
	Name string

	logDBShards        uint64
	logDBWriteBuffer   uint64
	logDBWriteBuffers  uint64
	engineShards       uint64
	stateCacheBytes    int64
	stateMemTableBytes int
	shards             int
	// returnHashMemory: give a password hash's memory back to the OS at
	// once (see passwordSlots).
	returnHashMemory bool
}

// ProfileSmall keeps a node within tens of MiB: for a Raspberry Pi.
var ProfileSmall = Profile{
	Name:               "small",
	logDBShards:        1,
	logDBWriteBuffer:   2 << 20,
	logDBWriteBuffers:  2,
	engineShards:       1,
	stateCacheBytes:    4 << 20,
	stateMemTableBytes: 2 << 20,
	shards:             placement.SmallShards,
	returnHashMemory:   true,
}

// ProfileDefault trades memory for throughput on a laptop-class machine, and
// still stays far below dragonboat's gigabyte-sized defaults. Like the small
// profile, it keeps one LogDB partition and one engine partition: each
// step round then saves every busy shard's Raft state with one write and
// one fsync.
var ProfileDefault = Profile{
	Name:               "default",
	logDBShards:        1,
	logDBWriteBuffer:   8 << 20,
	logDBWriteBuffers:  3,
	engineShards:       1,
	stateCacheBytes:    32 << 20,
	stateMemTableBytes: 8 << 20,
	shards:             placement.DefaultShards,
}

// ParseProfile returns the named profile.
func ParseProfile(name string) (Profile, error) {
	switch name {
	case "small":
		return ProfileSmall, nil
	case "", "default":
		return ProfileDefault, nil
	}
	return Profile{}, fmt.Errorf("profile %q: want small or default: %w", name, parley.ErrInvalid)
}

// DefaultShards is the number of room shards a cluster bootstrapped by a
// node of this profile gets unless told otherwise. Every shard costs each
// node about 3 MiB of dragonboat state whatever its traffic, so the small
// profile makes 8 (an idle node then stays under 64 MiB); on two cores 8
// busy shards commit as fast as 16.
func (p Profile) DefaultShards() int {
	if p.shards == 0 {
		return placement.DefaultShards
	}
	return p.shards
}

// LogDBConfig is the dragonboat LogDB configuration of the profile.
func (p Profile) LogDBConfig() config.LogDBConfig {
	c := config.GetTinyMemLogDBConfig()
	c.Shards = p.logDBShards
	c.KVWriteBufferSize = p.logDBWriteBuffer
	c.KVMaxWriteBufferNumber = p.logDBWriteBuffers
	c.KVMaxBytesForLevelBase = 64 << 20
	c.KVTargetFileSizeBase = 4 << 20
	c.KVKeepLogFileNum = 4
	c.SaveBufferSize = 16 << 10
	c.MaxSaveBufferSize = 4 << 20
	return c
}

// EngineConfig is the dragonboat execution engine configuration of the
// profile.
func (p Profile) EngineConfig() config.EngineConfig {
	n := p.engineShards
	return config.EngineConfig{ExecShards: n, CommitShards: n, ApplyShards: n, SnapshotShards: n, CloseShards: n}
}

// raftLayout is how a node partitions its Raft log store (LogDB shards) and
// dragonboat's execution engine (engine shards). dragonboat records both in
// the data dir and refuses to open it with others, so the layout is fixed
// when the node is created, recorded in its identity, and kept whatever its
// profile says later.
type raftLayout struct {
	LogDBShards  uint64 `json:"logdb_shards"`
	EngineShards uint64 `json:"engine_shards"`
}

// raftLayout is the layout of a node created with p.
func (p Profile) raftLayout() raftLayout {
	return raftLayout{LogDBShards: p.logDBShards, EngineShards: p.engineShards}
}

// withRaftLayout returns p with layout l.
func (p Profile) withRaftLayout(l raftLayout) Profile {
	p.logDBShards, p.engineShards = l.LogDBShards, l.EngineShards
	return p
}

// legacyRaftLayout is the layout that nodes created before identities
// recorded one have: the default profile had four LogDB partitions and two
// engine partitions until 2026-12-02.
func legacyRaftLayout(profile string) raftLayout {
	if profile == ProfileSmall.Name {
		return ProfileSmall.raftLayout()
	}
	return raftLayout{LogDBShards: 4, EngineShards: 2}
}
