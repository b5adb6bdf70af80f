// Package faults is Parley's fault suite: it runs a cluster of parleyd
// processes, each in a network namespace of its own joined to the test's
// by a bridge, and while clients send, read and subscribe it kills
// (SIGKILL), freezes (SIGSTOP/SIGCONT) and restarts nodes, cuts the network
// between them (one node alone, or a ring in which each node still sees a
// majority), drops packets at random and delays the Raft and client links
// through proxies of its own. Every operation is recorded with its
// invocation and completion time; at the end the history is checked with
// porcupine against a model of a per-room append-only log, and every
// replica's copy of every room is compared.
//
// The package's code is the harness; its test (faults_test.go) is the
// suite. It needs root, ip(8), iptables(8) and nsenter(1): the test
// re-executes itself in a fresh network namespace, so nothing it does is
// visible outside.
package faults
