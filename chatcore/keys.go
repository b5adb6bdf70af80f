package chatcore

import (
	"encoding/binary"

	"github.com/parleychat/parley/placement"
)

// State-db key layout. Every key starts with the 8-byte big-endian shard id,
// so one shard's state is one contiguous range: snapshots stream it, and
// recovering one deletes and rewrites it. After the shard prefix comes a
// one-byte kind:
//
//	'a'                          applied index (uint64)
//	'T'                          shard clock: the highest entry time seen
//	'P'                          sends since dedup records were last pruned (uint64)
//	'M' room                     room meta (last seq, created, members; CBOR)
//	'm' len room seq             message (CBOR storedMsg)
//	'u' len room user            room member (CBOR memberRecord)
//	'I' room                     the room's last import batch that changed it:
//	                             its id and outcome (CBOR importMark)
//	'x' ts len room len user id  dedup record: the message's seq (uint64),
//	                             ordered by entry time for expiry; found by
//	                             id through the shard's dedupIndex
//	'r' kind name                registry records (shard 1 only)
//
// Shard 0 holds no shard; its prefix holds the node-wide records:
//
//	'V'                          the state db's format (see statedb_format.go)
const (
	kindApplied = 'a'
	kindClock   = 'T'
	kindDebt    = 'P'
	kindMeta    = 'M'
	kindMsg     = 'm'
	kindMember  = 'u'
	kindImport  = 'I'
	kindExpiry  = 'x'
	kindReg     = 'r'
	kindFormat  = 'V'
)

func shardPrefix(shard uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 96), shard)
}

// shardRange returns [lo, hi) covering every key of shard.
func shardRange(shard uint64) (lo, hi []byte) {
	return shardPrefix(shard), shardPrefix(shard + 1)
}

func appliedKey(shard uint64) []byte { return append(shardPrefix(shard), kindApplied) }
func clockKey(shard uint64) []byte   { return append(shardPrefix(shard), kindClock) }
func debtKey(shard uint64) []byte    { return append(shardPrefix(shard), kindDebt) }

func metaKey(shard uint64, room string) []byte {
	return append(append(shardPrefix(shard), kindMeta), room...)
}

func importMarkKey(shard uint64, room string) []byte {
	return append(append(shardPrefix(shard), kindImport), room...)
}

func msgPrefix(shard uint64, room string) []byte {
	k := append(shardPrefix(shard), kindMsg, byte(len(room)))
	return append(k, room...)
}

func msgKey(shard uint64, room string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(msgPrefix(shard, room), seq)
}

func dedupSuffix(room, user string, id [16]byte) []byte {
	k := make([]byte, 0, 2+len(room)+len(user)+16)
	k = append(k, byte(len(room)))
	k = append(k, room...)
	k = append(k, byte(len(user)))
	k = append(k, user...)
	return append(k, id[:]...)
}

func expiryPrefix(shard uint64) []byte { return append(shardPrefix(shard), kindExpiry) }

// expiryKeyLen is the length of every expiry key of suffix.
func expiryKeyLen(suffix []byte) int { return 8 + 1 + 8 + len(suffix) }

func expiryKey(shard uint64, ts int64, suffix []byte) []byte {
	k := binary.BigEndian.AppendUint64(expiryPrefix(shard), uint64(ts))
	return append(k, suffix...)
}

func regKey(kind byte, name string) []byte {
	return append(append(shardPrefix(placement.RegistryShard), kindReg, kind), name...)
}

func regPrefix(kind byte) []byte {
	return append(shardPrefix(placement.RegistryShard), kindReg, kind)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// memberPrefix is the start of every member key of room; a member's key is
// the prefix and the user name.
func memberPrefix(shard uint64, room string) []byte {
	k := append(shardPrefix(shard), kindMember, byte(len(room)))
	return append(k, room...)
}

func memberKey(shard uint64, room, user string) []byte {
	return append(memberPrefix(shard, room), user...)
}
