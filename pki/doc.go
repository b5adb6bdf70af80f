// Package pki holds a cluster's public-key infrastructure: the cluster CA
// that the first node creates, the node certificates it signs for Raft and
// client traffic, and the join tokens that admit new nodes.
//
// It knows no network protocol and no storage: the registry keeps the CA
// and a token's hash, and transport builds TLS configurations from the
// PEM blocks this package makes.
package pki
