// Package e2e holds Parley's black-box end-to-end tests. They build the real
// binaries (cmd/parleyd and cmd/parley) with the go command found on PATH,
// run clusters of separate parleyd processes on 127.0.0.1 with data on real
// disks, talk to them over real QUIC with the Go SDK, the raw wire protocol
// and the parley CLI, and inject faults by signalling the processes:
// kill -9, SIGSTOP and SIGCONT, and restarts with the same arguments.
//
// After every fault the tests check the cluster's promises: no acknowledged
// message is lost, no message id appears twice, and every room's history is
// gapless from seq 1 and identical on every node.
//
// The package has only tests. Run it with
//
//	go test -race -count=1 ./e2e/
//
// The binaries are built with the environment's GOFLAGS, so GOFLAGS=-race
// also builds race-enabled nodes (much slower). Tests run one after another:
// each fault test starts its own three-node cluster, the tests that inject
// no fault share one.
package e2e
