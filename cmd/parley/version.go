package main

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/internal/buildinfo"
)

// runVersion prints the client's version, commit and Go version.
func runVersion(_ context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintln(e.stdout, "Usage: parley version\n\nPrints the client's version, the commit it was built from and its Go version.")
		return errHelp
	}
	if len(args) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(e.stdout, "parley %s\n", buildinfo.Get())
	return nil
}
