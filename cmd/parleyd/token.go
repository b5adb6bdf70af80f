package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/parleychat/parley/chatcore"
)

// tokenEnv is the environment variable a join token may come in, so that
// it is not on the command line, where any user's ps shows it.
const tokenEnv = "PARLEYD_TOKEN"

// joinToken returns the join token of a node that is to join a cluster:
// from --token, else from the file --token-file names, else from
// $PARLEYD_TOKEN. A node that already has an identity needs none (and
// gets ""), so that --token-file may name a file that is gone by then.
func joinToken(dataDir, flagToken, tokenFile string) (string, error) {
	if flagToken != "" && tokenFile != "" {
		return "", usageError{fmt.Errorf("--token and --token-file: give one")}
	}
	if chatcore.HasIdentity(dataDir) {
		return "", nil
	}
	switch {
	case flagToken != "":
		return strings.TrimSpace(flagToken), nil
	case tokenFile != "":
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--token-file: %s is empty", tokenFile)
		}
		return tok, nil
	default:
		return strings.TrimSpace(os.Getenv(tokenEnv)), nil
	}
}
