// Package bench is Parley's benchmark harness. It starts real 3-node
// clusters as separate processes on 127.0.0.1 (parleyd nodes, and the peers
// it compares them with: raw dragonboat NodeHosts and a NATS JetStream
// cluster), drives them with load generators, and gathers the results into
// a Report that prints as a table and encodes as JSON.
//
// Every scenario measures; none asserts a speed. The only checks are the
// correctness ones a benchmark can make on the way: after the failover
// scenario, no acknowledged message may be lost or duplicated.
package bench
