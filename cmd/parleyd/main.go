// Command parleyd runs a Parley node, or with "dev" a local cluster of
// several nodes as separate processes.
//
//	parleyd --data DIR [--listen HOST:PORT] [--raft HOST:PORT] [--http HOST:PORT]
//	        [--advertise HOST] [--join ADDR --token-file FILE] [--shards N]
//	        [--profile small|default] [--name NAME]
//	parleyd dev --nodes N [--dir DIR] [--base-port P]
//	parleyd version
//	parleyd help
package main

import (
	"fmt"
	"os"

	"github.com/parleychat/parley/internal/softsettings"
)

func main() {
	if err := softsettings.Apply(); err != nil {
		fmt.Fprintf(os.Stderr, "parleyd: %v (running with dragonboat's default buffers)\n", err)
	}
	args := os.Args[1:]
	var err error
	switch {
	case len(args) > 0 && args[0] == "dev":
		err = runDev(args[1:])
	case len(args) > 0 && args[0] == "version":
		err = runVersion(os.Stdout, args[1:])
	case len(args) > 0 && args[0] == "help":
		err = runNode([]string{"-h"})
	default:
		err = runNode(args)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "parleyd: %v\n", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks bad command-line input (exit status 2).
type usageError struct{ error }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}
