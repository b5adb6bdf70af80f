package main

import (
	"fmt"
	"io"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/internal/buildinfo"
)

// runVersion prints the build's version, commit, Go version and the apply
// rules version that nodes of one cluster must share.
func runVersion(w io.Writer, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("version takes no arguments")}
	}
	fmt.Fprintf(w, "parleyd %s\napply rules version %d\n", buildinfo.Get(), chatcore.ApplyRulesVersion)
	return nil
}
