// Command parley-natspeer is the NATS JetStream peer of Parley's benchmark,
// in a Go module of its own so that Parley's go.mod does not depend on
// NATS. It has three subcommands:
//
//	parley-natspeer server --name N --port P --cluster-port C --routes URL,...
//	                       --store DIR [--sync default|always]
//
// runs one embedded nats-server with JetStream, member of a cluster, until
// SIGTERM;
//
//	parley-natspeer load --servers URL,... --senders 64 --rooms 16
//	                     --payload 128 --warmup 2s --duration 30s
//
// creates an R3 file-store stream and publishes to it synchronously (each
// publisher waits for the stream's ack before its next message), then
// prints its results as one JSON object on stdout;
//
//	parley-natspeer latency --pub-servers URL,... --sub-server URL --rate 1000
//	                        --rooms 16 --senders 8 --workers 64 --payload 128
//
// creates the same streams, offers --rate messages per second (an open
// loop, each publish waiting for its ack) from connections to the
// --pub-servers, and times each message from its scheduled send time to
// its delivery to an ordered consumer of its room on a connection to
// --sub-server; it prints the histograms as one JSON object on stdout.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: parley-natspeer server|load|latency [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "load":
		err = runLoad(os.Args[2:])
	case "latency":
		err = runLatency(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "parley-natspeer: %v\n", err)
		os.Exit(1)
	}
}
