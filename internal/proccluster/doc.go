// Package proccluster runs a Parley cluster of separate parleyd processes
// on 127.0.0.1, for the black-box tests and the benchmarks: it starts the
// nodes, bootstrapping the first and joining the others to it, restarts,
// kills and pauses them, and keeps a client on each node for per-node
// views of the cluster. How long to wait for what, and what to check, is
// the caller's.
package proccluster
