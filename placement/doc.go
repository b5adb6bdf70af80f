// Package placement decides where things live in a Parley cluster: which
// room shard holds a room, which nodes hold a shard's voters, how a shard's
// membership moves, and which node leads it. It is pure decision code: no
// I/O, no clock, no randomness, standard library only, importing nothing of
// Parley's. The same inputs give the same answers on every node, whatever
// their order.
//
// # Room → shard
//
// [Ring] hashes a room name onto a consistent-hash ring with 64 virtual
// nodes per shard. Adding a shard moves rooms only onto the new shard, about
// 1/S of them (16→17 shards: 4.4% of 10,000 rooms). Rooms spread only as
// evenly as the ring's granularity allows: over 16 shards, 10,000 rooms put
// each shard within ±50% of the mean (worst measured: 35% for names
// "room-N", 45% for hex names). Shard ids: the registry is [RegistryShard];
// room shards are 4, 8, 12, … ([RoomShards]).
//
// # Shard → nodes
//
// [Rendezvous] ranks nodes per shard by highest random weight; adding a node
// changes a shard's ranking only by inserting that node. [WantedVoters] is
// the rule chatcore applies today: keep the current voters, fill up by rank.
// Plain rendezvous spreads replicas unevenly (16 shards × 3 over nodes 1..5:
// 12, 12, 9, 8, 7; σ 2.1).
//
// [Balance] is bounded-load rendezvous: every node holds ⌊R·S/N⌋ or
// ⌈R·S/N⌉ replicas (the same example: 10, 10, 9, 9, 10; σ 0.49), always. A
// joining node takes its share and exactly that many replicas move (6th
// node: 8 moved, the ideal 48/6); a leaving node's replicas move, plus at
// most 2 more for balance (measured over 1,134 random leaves; 46 needed
// any). [WantedRegistryVoters] keeps an odd number of registry voters, up to
// [RegistryVoters].
//
// # Moves and leaders
//
// [NextStep] turns a shard's actual membership and its wanted voters into
// the next single safe change: add non-voting → promote → move leadership
// away → remove, one member at a time, never removing the leader, never
// without a live quorum. [BalanceLeaders] returns the leadership transfers,
// each to a live voter of its shard, that leave every node ⌊L/N⌋ or
// ⌈L/N⌉ leaders when voter sets allow it (as Balance's do), else the most
// even spread they allow.
//
// chatcore uses the ring, the shard numbering, Balance (room-shard voters),
// WantedRegistryVoters, NextStep (every membership change) and
// BalanceLeaders (leadership transfers). The ring and
// rendezvous hashes are frozen: golden tests pin them, since changing either
// would move the rooms or replicas of existing clusters.
package placement
