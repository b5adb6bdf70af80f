// Package parley is Parley's domain: the words that the replicated core,
// the wire protocol, the SDK and the command-line tools all share.
//
// It holds a chat Message and its MsgID, the message kinds, the rules for
// user, room and node names and for message text, direct-message room
// naming and the access rule that goes with it, the sentinel errors every
// layer tests with errors.Is, and the CBOR encoding (with the limits every
// decoder of network input uses) that these values are written in.
//
// It imports nothing of Parley's, so every other package may import it.
package parley
