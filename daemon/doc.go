// Package daemon is the server side of Parley: it runs a chatcore node and
// puts it on the network. It accepts QUIC connections speaking the transport
// protocol, authenticates users, serves send, history, subscribe and status
// requests, answers the pings clients use to tell a dead node from an idle
// one, admits joining nodes, and serves HTTP health checks.
package daemon
