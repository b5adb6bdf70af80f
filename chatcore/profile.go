package chatcore

import (
	"fmt"

	"github.com/lni/dragonboat/v4/config"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// Profile sizes a node's memory: its Raft log store, its state db and its
// execution engine. A node keeps the profile it was created with: dragonboat
// cannot change the LogDB and engine sharding of an existing data dir.
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
// still stays far below dragonboat's gigabyte-sized defaults.
var ProfileDefault = Profile{
	Name:               "default",
	logDBShards:        4,
	logDBWriteBuffer:   8 << 20,
	logDBWriteBuffers:  3,
	engineShards:       2,
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
