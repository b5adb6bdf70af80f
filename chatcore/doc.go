// Package chatcore is Parley's replicated core: a node's lifecycle, the
// registry and room state machines over one pebble state database, the
// placement loop that applies the rules of package placement, and the hub
// that delivers committed messages to local subscribers.
//
// It is an embeddable library: a Go program creates or reopens a node with
// one call, Start (which makes the cluster CA, certificates and join token
// itself), adds nodes with Join through an Admitter, and then Sends, reads
// History and Subscribes in-process (see Example). Every read, write and
// membership call takes the user it acts for and enforces
// parley.CheckAccess, so direct-message rooms stay their participants' own
// whoever embeds the core. It knows nothing of the wire protocol; the daemon
// package puts it on the network.
//
// The cluster is elastic. A room shard lives on its R voters only: the
// registry leader places them (placement.Balance over the nodes neither
// draining nor dead, see placeAll) and hands out replica ids; each shard's
// leader moves its membership there one safe step at a time
// (placement.NextStep, see driveMoves); each node runs exactly the
// replicas it has ids for (hostAssigned). Heartbeats in the registry tell
// who is up and who leads what (liveness.go), which drives status, moves,
// dead-node replacement and leader balance (placement.BalanceLeaders). A
// node hosting no replica of a room's shard tells its caller where the room
// lives (RoomHosts); the daemon forwards there.
package chatcore
