package chatcore

import (
	"encoding/binary"
	"fmt"
	"sort"

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
}

// Account is a user account: an argon2id hash of its password, made by the
// node that claimed it (the state machine never makes random salts).
type Account struct {
	Name    string `cbor:"1,keyasint"`
	Hash    []byte `cbor:"2,keyasint"`
	Created int64  `cbor:"3,keyasint"`
}

// RoomRecord is a room in the registry's directory.
type RoomRecord struct {
	Name    string `cbor:"1,keyasint"`
	Creator string `cbor:"2,keyasint"`
	Created int64  `cbor:"3,keyasint"`
}

// Placement is the wanted voting replica set of one shard, kept by the
// registry leader. Every other node hosts a non-voting replica.
type Placement struct {
	Shard  uint64   `cbor:"1,keyasint"`
	Voters []uint64 `cbor:"2,keyasint"`
}

type registryCommand struct {
	Op        uint8        `cbor:"1,keyasint"`
	TS        int64        `cbor:"2,keyasint,omitempty"`
	Cluster   *ClusterInfo `cbor:"3,keyasint,omitempty"`
	Node      *NodeRecord  `cbor:"4,keyasint,omitempty"`
	Account   *Account     `cbor:"5,keyasint,omitempty"`
	Room      *RoomRecord  `cbor:"6,keyasint,omitempty"`
	Placement *Placement   `cbor:"7,keyasint,omitempty"`
}

const (
	regOpInit uint8 = iota + 1
	regOpAddNode
	regOpClaimAccount
	regOpCreateRoom
	regOpSetPlacement
	regOpUpdateNode
)

// Registry results: Value is one of these (or a node id for regOpAddNode).
const (
	regRejected uint64 = 0
	regApplied  uint64 = 1
	regExisted  uint64 = 2
)

// registryShard applies registry entries.
type registryShard struct {
	changed func()
}

func (r *registryShard) applyEntries(b *pebble.Batch, entries []sm.Entry) (func(), error) {
	for i := range entries {
		v, err := r.apply(b, entries[i].Cmd)
		if err != nil {
			return nil, err
		}
		entries[i].Result.Value = v
	}
	return r.changed, nil
}

func (r *registryShard) recovered() { r.changed() }

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
			if n.Name == cmd.Node.Name || n.RaftAddr == cmd.Node.RaftAddr {
				return regRejected, nil
			}
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
		if cmd.Account == nil || parley.ValidateUser(cmd.Account.Name) != nil {
			return regRejected, nil
		}
		return r.putNew(b, regKey(regAccount, cmd.Account.Name), cmd.Account)
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
	case regOpSetPlacement:
		p := cmd.Placement
		if p == nil || !placement.IsRoomShard(p.Shard) && p.Shard != placement.RegistryShard {
			return regRejected, nil
		}
		return regApplied, putCBOR(b, placementKey(p.Shard), p)
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
