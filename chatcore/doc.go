// Package chatcore is Parley's replicated core: a node's lifecycle, the
// registry and room state machines over one pebble state database, the
// placement loop that applies the rules of package placement, and the hub
// that delivers committed messages to local subscribers.
//
// It is an embeddable library: a Go program can start a node with Bootstrap,
// Join or Open and then Send, History and Subscribe in-process. It knows
// nothing of the wire protocol; the daemon package puts it on the network.
package chatcore
