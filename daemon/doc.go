// Package daemon is the server side of Parley: it runs a chatcore node and
// puts it on the network. It accepts QUIC connections speaking the transport
// protocol, authenticates users, serves send, history, subscribe and status
// requests, admits joining nodes, and serves HTTP health checks.
package daemon
