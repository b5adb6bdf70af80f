// Package placement decides where things live in a Parley cluster: which
// room shard holds a room and which nodes hold a shard's replicas. It is pure
// decision code: no I/O, no clock, no randomness, standard library only, and
// it imports nothing of Parley's, so its rules are tested on their own and
// any caller (chatcore's placement loop, bench, tests) computes the same
// answers from the same inputs.
//
// Room → shard: [Ring] hashes a room name onto a consistent-hash ring with 64
// virtual nodes per shard. Rooms spread evenly only up to the ring's
// granularity: over 16 shards, 10,000 rooms put each shard within ±50% of
// the mean (worst measured 35% for names "room-N", 45% for hex names).
// Adding a shard moves rooms only onto the new shard, about 1/S of them.
//
// Shard → nodes: [Rendezvous] ranks nodes per shard by highest random
// weight; adding a node changes a shard's ranking only by inserting that
// node. [WantedVoters] is the rule chatcore applies today: keep the current
// voters, fill up by rank.
//
// Shard ids: the registry is [RegistryShard]; room shards are numbered 4, 8,
// 12, … by [RoomShards].
//
// The ring and rendezvous hashes are frozen: golden tests pin them, since
// changing either would move the rooms or replicas of existing clusters.
package placement
