package chatcore

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// Registry record kinds (the byte after kindReg).
const (
	regCluster   = 'c'
	regNode      = 'n'
	regAccount   = 'u'
	regRoom      = 'o'
	regPlacement = 'p'
)

// ClusterInfo is the registry's cluster-wide settings.
type ClusterInfo struct {
	ClusterID string `cbor:"1,keyasint"`
	Shards    int    `cbor:"2,keyasint"`
	CACertPEM []byte `cbor:"3,keyasint"`
	CAKeyPEM  []byte `cbor:"4,keyasint"`
	// TokenHash is the SHA-256 of the join token.
	TokenHash []byte `cbor:"5,keyasint"`
	// Secret signs session tokens.
	Secret     []byte `cbor:"6,keyasint"`
	Created    int64  `cbor:"7,keyasint"`
	NextNodeID uint64 `cbor:"8,keyasint"`
	// Argon names the argon2id profile new password hashes are made with
	// ("small" or "default"; "" is "default"), chosen at bootstrap.
	Argon string `cbor:"9,keyasint,omitempty"`
	// Quotas limit rooms and members (zero fields: the defaults).
	Quotas Quotas `cbor:"10,keyasint,omitempty"`
	// Replication is the number of voting replicas of every room shard
	// (parleyd --replicas): odd, 1 to MaxReplication.
	Replication int `cbor:"11,keyasint,omitempty"`
	// DeadAfter is how long a node may be unreachable before its replicas
	// are re-created on live nodes.
	DeadAfter time.Duration `cbor:"12,keyasint,omitempty"`
	// NextReplicaID is the next room-shard replica id to hand out. Ids are
	// never reused: dragonboat refuses a replica id once removed.
	NextReplicaID uint64 `cbor:"13,keyasint,omitempty"`
	// HasAdmin is set once the first account was claimed: it became admin.
	HasAdmin bool `cbor:"14,keyasint,omitempty"`
	// Signup is who may create an account by logging in: SignupOpen
	// ("", anyone), SignupInvite (with an invite code) or SignupClosed
	// (nobody: an admin adds accounts).
	Signup string `cbor:"15,keyasint,omitempty"`
}

// Replicas returns the cluster's replication, the default for clusters
// that recorded none.
func (c ClusterInfo) Replicas() int {
	if c.Replication <= 0 {
		return placement.DefaultReplication
	}
	return c.Replication
}

// DeadAfterOrDefault returns the cluster's dead-after, the default for
// clusters that recorded none.
func (c ClusterInfo) DeadAfterOrDefault() time.Duration {
	if c.DeadAfter <= 0 {
		return DefaultDeadAfter
	}
	return c.DeadAfter
}

// NodeRecord is one node in the registry.
type NodeRecord struct {
	ID         uint64 `cbor:"1,keyasint"`
	Name       string `cbor:"2,keyasint"`
	RaftAddr   string `cbor:"3,keyasint"`
	ClientAddr string `cbor:"4,keyasint"`
	Joined     int64  `cbor:"5,keyasint"`
	// HTTPAddr is the node's advertised HTTP address (web client), "" if
	// it serves none.
	HTTPAddr string `cbor:"6,keyasint,omitempty"`
	// HTTPSAddr is the node's advertised HTTPS address, "" if it serves
	// none.
	HTTPSAddr string `cbor:"7,keyasint,omitempty"`
	// State is "" while the node is a full member, NodeDraining once an
	// admin asked to remove it, NodeRemoved once it holds nothing.
	State string `cbor:"8,keyasint,omitempty"`
	// Beat is the node's latest heartbeat, its own clock in ns: others
	// watch it change (see liveness).
	Beat int64 `cbor:"9,keyasint,omitempty"`
	// Leads is what the node reported leading at its latest heartbeat.
	Leads []ShardReport `cbor:"10,keyasint,omitempty"`
	// RegistryGen is the generation of the node's registry replica, whose
	// id is RegistryReplicaID(ID, RegistryGen): raised each time the
	// registry deletes the node's replica (see placeRegistry), so the node
	// rejoins under a replica id dragonboat has never seen.
	RegistryGen uint64 `cbor:"11,keyasint,omitempty"`
	// AdmittedBy is the id of the recorded join token that admitted the
	// node ("" for the bootstrap token or an in-process admission): a
	// retried join with that token gets the same node back.
	AdmittedBy string `cbor:"12,keyasint,omitempty"`
}

// ShardReport is one shard as its leader saw it at a heartbeat: node ids,
// not replica ids.
type ShardReport struct {
	Shard     uint64   `cbor:"1,keyasint"`
	Term      uint64   `cbor:"2,keyasint"`
	Voters    []uint64 `cbor:"3,keyasint"`
	NonVoting []uint64 `cbor:"4,keyasint,omitempty"`
	// Busy: the shard applies entries at a rate that makes its leader
	// count apart in leader balancing (see shardload.go).
	Busy bool `cbor:"5,keyasint,omitempty"`
}

// Node states (NodeRecord.State).
const (
	NodeActive   = ""
	NodeDraining = "draining"
	NodeRemoved  = "removed"
	// NodeDead is never stored: Status shows it for an active node silent
	// past the cluster's dead-after, whose replicas are re-created
	// elsewhere.
	NodeDead = "dead"
)

// Account is a user account: an argon2id hash of its password, made by the
// node that claimed it (the state machine never makes random salts).
type Account struct {
	Name    string `cbor:"1,keyasint"`
	Hash    []byte `cbor:"2,keyasint"`
	Created int64  `cbor:"3,keyasint"`
	// Admin may change the cluster's membership and settings.
	Admin bool `cbor:"4,keyasint,omitempty"`
	// Disabled accounts can neither log in nor resume a session.
	Disabled bool `cbor:"5,keyasint,omitempty"`
	// Epoch is stamped into every session token; raising it revokes every
	// token issued before (see RevokeSessions).
	Epoch uint64 `cbor:"6,keyasint,omitempty"`
}

// RoomRecord is a room in the registry's directory.
type RoomRecord struct {
	Name    string `cbor:"1,keyasint"`
	Creator string `cbor:"2,keyasint"`
	Created int64  `cbor:"3,keyasint"`
}

// Placement is one shard's wanted voters (node ids), kept by the registry
// leader, and, for room shards, the replica id each node that holds (or is
// about to hold) a replica of it runs. A node hosts a room shard exactly
// while it has a replica id here. The registry's replica ids are not here:
// see RegistryReplicaID.
type Placement struct {
	Shard    uint64            `cbor:"1,keyasint"`
	Voters   []uint64          `cbor:"2,keyasint"`
	Replicas map[uint64]uint64 `cbor:"3,keyasint,omitempty"`
}

// nodeOf returns the node that runs replica of the shard, 0 if none.
func (p Placement) nodeOf(replica uint64) uint64 {
	for node, r := range p.Replicas {
		if r == replica {
			return node
		}
	}
	return 0
}

type registryCommand struct {
	Op        uint8        `cbor:"1,keyasint"`
	TS        int64        `cbor:"2,keyasint,omitempty"`
	Cluster   *ClusterInfo `cbor:"3,keyasint,omitempty"`
	Node      *NodeRecord  `cbor:"4,keyasint,omitempty"`
	Account   *Account     `cbor:"5,keyasint,omitempty"`
	Room      *RoomRecord  `cbor:"6,keyasint,omitempty"`
	Placement *Placement   `cbor:"7,keyasint,omitempty"`
	// Target is the node a replica, state or heartbeat command is about.
	Target uint64 `cbor:"8,keyasint,omitempty"`
	// Shard is the shard of a replica command.
	Shard uint64 `cbor:"9,keyasint,omitempty"`
	// Replica is the replica id a release command expects.
	Replica uint64 `cbor:"10,keyasint,omitempty"`
	// By is the user an account command acts for: the apply checks it may
	// (an admin, or the account itself where allowed).
	By string `cbor:"11,keyasint,omitempty"`
	// Secret is the SHA-256 of the invite code a sign-up spends, or of the
	// join token an admission spends.
	Secret []byte `cbor:"12,keyasint,omitempty"`
	// Invite and JoinToken are created by regOpNewInvite, regOpNewJoinToken.
	Invite    *InviteRecord    `cbor:"13,keyasint,omitempty"`
	JoinToken *JoinTokenRecord `cbor:"14,keyasint,omitempty"`
}

const (
	regOpInit uint8 = iota + 1
	regOpAddNode
	regOpClaimAccount
	regOpCreateRoom
	regOpSetPlacement
	regOpUpdateNode
	// regOpAssignReplica gives Target a replica id of Shard (a new one
	// unless it has one) and returns it.
	regOpAssignReplica
	// regOpReleaseReplica drops Target's replica id of Shard if it is
	// still Replica.
	regOpReleaseReplica
	// regOpHeartbeat records Target's heartbeat TS and its leader reports.
	regOpHeartbeat
	// regOpSetNodeState moves Target to Node.State (draining, removed).
	regOpSetNodeState
	// regOpSetSettings changes the cluster settings an admin may change.
	regOpSetSettings
	// regOpGrantAdmin makes Account.Name an admin.
	regOpGrantAdmin
	// regOpRegistryGen raises Target's RegistryGen if it is still Replica.
	regOpRegistryGen
)

// Registry results: Value is one of these (or a node id for regOpAddNode).
const (
	regRejected uint64 = 0
	regApplied  uint64 = 1
	regExisted  uint64 = 2
)

// registryShard applies registry entries.
type registryShard struct {
	// changed runs after a batch that changed more than heartbeat times.
	changed func()
	// beatOnly is set by apply when its entry was a heartbeat of a live
	// node that only moved the node's heartbeat time (see applyNode).
	beatOnly bool
}

// newBatch returns an indexed batch: registry entries read what earlier
// entries of the batch wrote through it.
func (r *registryShard) newBatch(db *pebble.DB) *pebble.Batch { return db.NewIndexedBatch() }

// applyEntries applies a batch of registry entries. It wakes the node's
// loops (changed) only if an entry changed more than a live node's
// heartbeat time: every node heartbeats every second, and the loops look
// at the heartbeat times on their own tick anyway (hostInterval), so
// waking them on each one made every node reconcile several times a
// second for nothing.
func (r *registryShard) applyEntries(_ reader, b *pebble.Batch, entries []sm.Entry) (func(), error) {
	wake := false
	for i := range entries {
		r.beatOnly = false
		v, err := r.apply(b, entries[i].Cmd)
		if err != nil {
			return nil, err
		}
		entries[i].Result.Value = v
		wake = wake || !r.beatOnly
	}
	if !wake {
		return nil, nil
	}
	return r.changed, nil
}

func (r *registryShard) opened(reader) error { return nil }

func (r *registryShard) recovered(reader) error {
	r.changed()
	return nil
}

func (r *registryShard) apply(b *pebble.Batch, data []byte) (uint64, error) {
	var cmd registryCommand
	if err := cbor.Unmarshal(data, &cmd); err != nil {
		return regRejected, nil
	}
	var info ClusterInfo
	initialised, err := getCBOR(b, regKey(regCluster, ""), &info)
	if err != nil {
		return 0, err
	}
	if !initialised && cmd.Op != regOpInit {
		return regRejected, nil
	}
	switch cmd.Op {
	case regOpInit:
		if initialised || cmd.Cluster == nil || cmd.Node == nil {
			return regRejected, nil
		}
		info = *cmd.Cluster
		info.NextNodeID = cmd.Node.ID + 1
		// The first node starts every room shard alone, as replica 1.
		info.NextReplicaID = 2
		for _, s := range placement.RoomShards(info.Shards) {
			p := Placement{Shard: s, Voters: []uint64{cmd.Node.ID}, Replicas: map[uint64]uint64{cmd.Node.ID: 1}}
			if err := putCBOR(b, placementKey(s), p); err != nil {
				return 0, err
			}
		}
		return regApplied, r.putAll(b, info, cmd.Node)
	case regOpAddNode:
		if cmd.Node == nil {
			return regRejected, nil
		}
		nodes, err := listNodes(b)
		if err != nil {
			return 0, err
		}
		for _, n := range nodes {
			if n.State != NodeRemoved && (n.Name == cmd.Node.Name || n.RaftAddr == cmd.Node.RaftAddr) {
				return regRejected, nil
			}
		}
		if ok, err := spendJoinToken(b, &info, cmd); err != nil || !ok {
			return regRejected, err
		}
		n := *cmd.Node
		n.ID = info.NextNodeID
		info.NextNodeID++
		return n.ID, r.putAll(b, info, &n)
	case regOpUpdateNode:
		if cmd.Node == nil {
			return regRejected, nil
		}
		var old NodeRecord
		found, err := getCBOR(b, nodeKey(cmd.Node.ID), &old)
		if err != nil || !found {
			return regRejected, err
		}
		old.RaftAddr, old.ClientAddr, old.HTTPAddr, old.HTTPSAddr = cmd.Node.RaftAddr, cmd.Node.ClientAddr, cmd.Node.HTTPAddr, cmd.Node.HTTPSAddr
		return regApplied, putCBOR(b, nodeKey(old.ID), old)
	case regOpClaimAccount:
		return r.claimAccount(b, &info, cmd)
	case regOpGrantAdmin:
		if cmd.Account == nil {
			return regRejected, nil
		}
		var acct Account
		found, err := getCBOR(b, regKey(regAccount, cmd.Account.Name), &acct)
		if err != nil || !found {
			return regRejected, err
		}
		acct.Admin = true
		return regApplied, putCBOR(b, regKey(regAccount, acct.Name), acct)
	case regOpAssignReplica, regOpReleaseReplica:
		return r.applyReplica(b, &info, cmd)
	case regOpHeartbeat, regOpSetNodeState, regOpRegistryGen:
		return r.applyNode(b, cmd)
	case regOpSetSettings:
		if cmd.Cluster == nil || cmd.Cluster.DeadAfter < MinDeadAfter {
			return regRejected, nil
		}
		info.DeadAfter = cmd.Cluster.DeadAfter
		return regApplied, putCBOR(b, regKey(regCluster, ""), info)
	case regOpSetSignup, regOpSetPassword, regOpSetDisabled, regOpRevokeSessions,
		regOpNewInvite, regOpNewJoinToken, regOpRevokeJoinToken:
		return r.applyAccountAdmin(b, &info, cmd)
	case regOpCreateRoom:
		if cmd.Room == nil || parley.ValidateRoom(cmd.Room.Name) != nil {
			return regRejected, nil
		}
		if found, err := getCBOR(b, regKey(regRoom, cmd.Room.Name), &RoomRecord{}); err != nil || found {
			return regExisted, err
		}
		if v, err := checkRoomQuota(b, info.Quotas, cmd.Room); err != nil || v != regApplied {
			return v, err
		}
		if err := recordRoom(b, cmd.Room); err != nil {
			return 0, err
		}
		return r.putNew(b, regKey(regRoom, cmd.Room.Name), cmd.Room)
	case regOpRestoreRoom:
		return r.applyRestoreRoom(b, info, cmd)
	case regOpSetPlacement:
		p := cmd.Placement
		if p == nil || !placement.IsRoomShard(p.Shard) && p.Shard != placement.RegistryShard {
			return regRejected, nil
		}
		var old Placement
		if _, err := getCBOR(b, placementKey(p.Shard), &old); err != nil {
			return 0, err
		}
		old.Shard, old.Voters = p.Shard, p.Voters
		return regApplied, putCBOR(b, placementKey(p.Shard), old)
	}
	return regRejected, nil
}

func (r *registryShard) putAll(b *pebble.Batch, info ClusterInfo, n *NodeRecord) error {
	if err := putCBOR(b, regKey(regCluster, ""), info); err != nil {
		return err
	}
	return putCBOR(b, nodeKey(n.ID), n)
}

// putNew writes v at key unless a record is there: first claim wins.
func (r *registryShard) putNew(b *pebble.Batch, key []byte, v any) (uint64, error) {
	_, closer, err := b.Get(key)
	if err == nil {
		closer.Close()
		return regExisted, nil
	}
	if err != pebble.ErrNotFound {
		return 0, fmt.Errorf("registry: %w", err)
	}
	return regApplied, putCBOR(b, key, v)
}

func nodeKey(id uint64) []byte {
	return regKey(regNode, string(binary.BigEndian.AppendUint64(nil, id)))
}

func placementKey(shard uint64) []byte {
	return regKey(regPlacement, string(binary.BigEndian.AppendUint64(nil, shard)))
}

// scanCBOR decodes every registry record of kind, in key order.
func scanCBOR[T any](r reader, kind byte) ([]T, error) {
	p := regPrefix(kind)
	it := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	defer it.Close()
	var out []T
	for ok := it.First(); ok; ok = it.Next() {
		var v T
		if err := cbor.Unmarshal(it.Value(), &v); err != nil {
			return nil, fmt.Errorf("registry: %x: %w", it.Key(), err)
		}
		out = append(out, v)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return out, nil
}

func listNodes(r reader) ([]NodeRecord, error) {
	nodes, err := scanCBOR[NodeRecord](r, regNode)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	return nodes, err
}
